package dev.resnext.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.resnext.ResNeXtException;
import org.deeplearning4j.nn.graph.ComputationGraph;
import dev.resnext.model.GraphMemory;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.dataset.api.preprocessor.serializer.NormalizerSerializer;
import org.nd4j.linalg.factory.Nd4j;

import java.io.BufferedInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Reads and writes model zips.
 *
 * <p>A model zip is an ordinary DL4J zip ({@code ModelSerializer.restoreComputationGraph} opens it:
 * {@code configuration.json}, {@code coefficients.bin}, optional {@code updaterState.bin} and
 * {@code normalizer.bin}) with two more entries: {@value #METADATA} ({@link ModelMetadata}) and
 * {@value #CHECKSUMS}, the SHA-256 of every other entry. Zips are written atomically (temporary
 * file, then rename) and verified on load, so that a damaged file is reported as damaged.
 */
public final class ModelZip {
    public static final String METADATA = "resnext/metadata.json";
    public static final String CHECKSUMS = "resnext/checksums.json";
    /** Prefix of extra entries (e.g. checkpoint training state). */
    public static final String EXTRA_PREFIX = "resnext/extra/";

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ModelZip() {
    }

    /** Saves a model without extra entries. */
    public static void save(Path file, ComputationGraph graph, ModelMetadata metadata, DataNormalization normalizer,
                            boolean saveUpdater) {
        save(file, graph, metadata, normalizer, saveUpdater, Map.of());
    }

    /**
     * Saves a model zip atomically.
     *
     * @param saveUpdater also save the optimizer state (needed to resume training exactly)
     * @param extras      extra named entries stored under {@value #EXTRA_PREFIX}
     */
    public static void save(Path file, ComputationGraph graph, ModelMetadata metadata, DataNormalization normalizer,
                            boolean saveUpdater, Map<String, byte[]> extras) {
        AtomicFiles.write(file, out -> writeZip(out, graph, metadata, normalizer, saveUpdater, extras));
    }

    private static void writeZip(OutputStream raw, ComputationGraph graph, ModelMetadata metadata,
                                 DataNormalization normalizer, boolean saveUpdater, Map<String, byte[]> extras)
            throws IOException {
        Map<String, String> sums = new TreeMap<>();
        ZipOutputStream zip = new ZipOutputStream(raw);
        zip.setLevel(1); // weights barely compress; speed matters more for large models
        putEntry(zip, ModelSerializer.CONFIGURATION_JSON, sums,
                out -> out.write(graph.getConfiguration().toJson().getBytes(StandardCharsets.UTF_8)));
        putEntry(zip, ModelSerializer.COEFFICIENTS_BIN, sums, out -> writeArray(out, graph.params()));
        if (saveUpdater && graph.getUpdater() != null) {
            INDArray state = graph.getUpdater().getStateViewArray();
            if (state != null && state.length() > 0) {
                putEntry(zip, ModelSerializer.UPDATER_BIN, sums, out -> writeArray(out, state));
            }
        }
        if (normalizer != null) {
            putEntry(zip, ModelSerializer.NORMALIZER_BIN, sums,
                    out -> NormalizerSerializer.getDefault().write(normalizer, out));
        }
        for (Map.Entry<String, byte[]> e : extras.entrySet()) {
            putEntry(zip, EXTRA_PREFIX + e.getKey(), sums, out -> out.write(e.getValue()));
        }
        putEntry(zip, METADATA, sums, out -> JSON.writeValue(new NonClosingOutputStream(out), metadata));
        zip.putNextEntry(new ZipEntry(CHECKSUMS));
        zip.write(JSON.writeValueAsBytes(sums));
        zip.closeEntry();
        zip.finish();
    }

    private static void writeArray(OutputStream out, INDArray array) throws IOException {
        DataOutputStream dos = new DataOutputStream(new java.io.BufferedOutputStream(new NonClosingOutputStream(out), 1 << 16));
        Nd4j.write(array, dos);
        dos.flush();
    }

    private interface EntryWriter {
        void write(OutputStream out) throws IOException;
    }

    private static void putEntry(ZipOutputStream zip, String name, Map<String, String> sums, EntryWriter w)
            throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        MessageDigest md = sha256();
        DigestOutputStream dos = new DigestOutputStream(new NonClosingOutputStream(zip), md);
        w.write(dos);
        dos.flush();
        zip.closeEntry();
        sums.put(name, HexFormat.of().formatHex(md.digest()));
    }

    /** Loads a model zip for inference (no optimizer state). */
    public static LoadedModel load(Path file) {
        return load(file, false);
    }

    /**
     * Loads and verifies a model zip.
     *
     * @throws ResNeXtException naming the file when it is missing, not a zip, truncated, damaged,
     *                          or not a model zip of this project
     */
    public static LoadedModel load(Path file, boolean loadUpdater) {
        ModelMetadata metadata;
        Map<String, byte[]> extras = new LinkedHashMap<>();
        checkReadable(file);
        try (ZipFile zip = new ZipFile(file.toFile())) {
            verify(file, zip);
            ZipEntry me = zip.getEntry(METADATA);
            if (me == null) {
                throw new ResNeXtException(file + " is a DL4J zip but not a resnext model (no " + METADATA + ")");
            }
            try (InputStream in = zip.getInputStream(me)) {
                metadata = JSON.readValue(in, ModelMetadata.class);
            }
            var entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (e.getName().startsWith(EXTRA_PREFIX)) {
                    try (InputStream in = zip.getInputStream(e)) {
                        extras.put(e.getName().substring(EXTRA_PREFIX.length()), in.readAllBytes());
                    }
                }
            }
        } catch (ZipException e) {
            throw new ResNeXtException(file + " is not a valid model zip (damaged, truncated or not a zip: "
                    + e.getMessage() + ")");
        } catch (IOException e) {
            throw new ResNeXtException("cannot read model zip " + file + ": " + AtomicFiles.describe(e));
        } catch (IllegalArgumentException e) {
            throw new ResNeXtException(file + " has an invalid model configuration: " + e.getMessage());
        }
        try {
            ComputationGraph graph = GraphMemory.tune(ModelSerializer.restoreComputationGraph(file.toFile(),
                    loadUpdater));
            DataNormalization normalizer = null;
            try (ZipFile zip = new ZipFile(file.toFile())) {
                if (zip.getEntry(ModelSerializer.NORMALIZER_BIN) != null) {
                    try (InputStream in = new BufferedInputStream(zip.getInputStream(
                            zip.getEntry(ModelSerializer.NORMALIZER_BIN)))) {
                        normalizer = NormalizerSerializer.getDefault().restore(in);
                    }
                }
            }
            return new LoadedModel(file, graph, metadata, normalizer, extras);
        } catch (ResNeXtException e) {
            throw e;
        } catch (Exception e) {
            throw new ResNeXtException("cannot restore the network in " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads only the metadata (fast; no weights are loaded). */
    public static ModelMetadata readMetadata(Path file) {
        checkReadable(file);
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry me = zip.getEntry(METADATA);
            if (me == null) {
                throw new ResNeXtException(file + " is not a resnext model zip (no " + METADATA + ")");
            }
            try (InputStream in = zip.getInputStream(me)) {
                return JSON.readValue(in, ModelMetadata.class);
            }
        } catch (ZipException e) {
            throw new ResNeXtException(file + " is not a valid model zip (damaged, truncated or not a zip)");
        } catch (IOException e) {
            throw new ResNeXtException("cannot read model zip " + file + ": " + AtomicFiles.describe(e));
        }
    }

    private static void checkReadable(Path file) {
        if (!Files.exists(file)) {
            throw new ResNeXtException("model zip not found: " + file);
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new ResNeXtException("model zip is not a readable file: " + file);
        }
    }

    /** Checks every entry against the stored SHA-256 sums. */
    private static void verify(Path file, ZipFile zip) throws IOException {
        ZipEntry ce = zip.getEntry(CHECKSUMS);
        if (ce == null) {
            if (zip.getEntry(ModelSerializer.CONFIGURATION_JSON) == null) {
                throw new ResNeXtException(file + " is a zip but not a model zip (no configuration.json)");
            }
            throw new ResNeXtException(file + " is a DL4J zip but not a resnext model (no " + CHECKSUMS + ")");
        }
        Map<?, ?> sums;
        try (InputStream in = zip.getInputStream(ce)) {
            sums = JSON.readValue(in, Map.class);
        }
        for (Map.Entry<?, ?> s : sums.entrySet()) {
            String name = String.valueOf(s.getKey());
            ZipEntry e = zip.getEntry(name);
            if (e == null) {
                throw new ResNeXtException(file + " is damaged: entry " + name + " is missing");
            }
            MessageDigest md = sha256();
            byte[] buf = new byte[1 << 16];
            try (InputStream in = zip.getInputStream(e)) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                }
            } catch (ZipException | java.io.EOFException ex) {
                throw new ResNeXtException(file + " is damaged: entry " + name + " cannot be read ("
                        + ex.getMessage() + ")");
            }
            if (!HexFormat.of().formatHex(md.digest()).equals(s.getValue())) {
                throw new ResNeXtException(file + " is damaged: checksum mismatch in entry " + name);
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
