package dev.resnext.format;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import dev.resnext.ResNeXtException;
import dev.resnext.io.AtomicFiles;
import dev.resnext.io.NonClosingOutputStream;
import dev.resnext.model.StockForm;
import dev.resnext.runtime.GraphRuntime;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
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
 * Reads and writes model zips (format {@value ModelMetadata#FORMAT}; docs/model-format.md).
 *
 * <p>A model zip is an ordinary DL4J zip: {@code configuration.json} names only DL4J's own classes
 * (the stock form, see {@link StockForm}), so {@code ModelSerializer.restoreComputationGraph} opens
 * it in any DL4J program, with {@code coefficients.bin}, optional {@code updaterState.bin} and
 * {@code normalizer.bin}. Two more entries make it ours: {@value #METADATA} ({@link ModelMetadata})
 * and {@value #CHECKSUMS}, the SHA-256 of every other entry. Zips are written atomically
 * (temporary file, then rename) and verified entry by entry on load, so that a damaged or altered
 * file is reported as such. Loading hands the network to the runtime door
 * ({@link GraphRuntime}), and a format-1 zip is upgraded on the way ({@link FormatUpgrade}).
 */
public final class ModelZip {
    public static final String METADATA = "resnext/metadata.json";
    public static final String CHECKSUMS = "resnext/checksums.json";
    /** Prefix of extra entries (e.g. checkpoint training state). */
    public static final String EXTRA_PREFIX = "resnext/extra/";

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final java.util.regex.Pattern SHA256 = java.util.regex.Pattern.compile("[0-9a-f]{64}");

    private ModelZip() {
    }

    /** Saves a model without extra entries. */
    public static void save(Path file, ComputationGraph graph, ModelMetadata metadata, DataNormalization normalizer,
                            boolean saveUpdater) {
        save(file, graph, metadata, normalizer, saveUpdater, Map.of());
    }

    /**
     * Saves a model zip atomically, in stock form whatever runs in memory.
     *
     * @param saveUpdater also save the optimizer state (needed to resume training exactly)
     * @param extras      extra named entries stored under {@value #EXTRA_PREFIX}
     */
    public static void save(Path file, ComputationGraph graph, ModelMetadata metadata, DataNormalization normalizer,
                            boolean saveUpdater, Map<String, byte[]> extras) {
        String conf = StockForm.of(graph.getConfiguration()).toJson();
        var foreign = StockForm.foreignClasses(conf);
        if (!foreign.isEmpty()) {
            throw new IllegalStateException("the stock form still names classes outside DL4J: " + foreign);
        }
        ModelMetadata stamped = metadata.withFormat(ModelMetadata.FORMAT);
        AtomicFiles.write(file, out -> writeZip(out, conf, graph, stamped, normalizer, saveUpdater, extras));
    }

    private static void writeZip(OutputStream raw, String conf, ComputationGraph graph, ModelMetadata metadata,
                                 DataNormalization normalizer, boolean saveUpdater, Map<String, byte[]> extras)
            throws IOException {
        Map<String, String> sums = new TreeMap<>();
        ZipOutputStream zip = new ZipOutputStream(raw);
        zip.setLevel(1); // weights barely compress; speed matters more for large models
        putEntry(zip, ModelSerializer.CONFIGURATION_JSON, sums, out -> out.write(conf.getBytes(StandardCharsets.UTF_8)));
        putEntry(zip, ModelSerializer.COEFFICIENTS_BIN, sums, out -> writeArray(out, graph.params()));
        if (saveUpdater && graph.getUpdater(false) != null) {
            INDArray state = graph.getUpdater(false).getStateViewArray();
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
     * Loads and verifies a model zip and prepares its network through the runtime door.
     *
     * @param loadUpdater also load the optimizer state (to resume training)
     * @throws ResNeXtException naming the file when it is missing, not a zip, truncated, damaged,
     *                          altered, or not a model zip of this project
     */
    public static LoadedModel load(Path file, boolean loadUpdater) {
        Stored s = read(file, loadUpdater);
        try {
            ComputationGraph graph = GraphRuntime.create(s.configuration(), s.params(), s.updaterState(),
                    loadUpdater ? GraphRuntime.Mode.TRAINING : GraphRuntime.Mode.INFERENCE);
            return new LoadedModel(file, graph, s.metadata(), s.normalizer(), s.extras(), s.formatRead());
        } catch (ResNeXtException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ResNeXtException(file + " is damaged: its weights do not fit its network ("
                    + e.getMessage() + ")", e);
        }
    }

    /** What a zip holds, read and verified, before any network is built. */
    private record Stored(ModelMetadata metadata, ComputationGraphConfiguration configuration, INDArray params,
                          INDArray updaterState, DataNormalization normalizer, Map<String, byte[]> extras,
                          String formatRead) {
    }

    private static Stored read(Path file, boolean loadUpdater) {
        checkReadable(file);
        try (ZipFile zip = new ZipFile(file.toFile())) {
            verify(file, zip);
            ModelMetadata metadata = metadata(file, zip);
            String format = metadata.format() == null ? ModelMetadata.FORMAT_1 : metadata.format();
            if (!format.equals(ModelMetadata.FORMAT) && !format.equals(ModelMetadata.FORMAT_1)) {
                throw new ResNeXtException(file + " is in format '" + format + "', which this version does not read "
                        + "(it reads " + ModelMetadata.FORMAT_1 + " and " + ModelMetadata.FORMAT
                        + "); it was probably written by a newer version");
            }
            String json = new String(bytes(file, zip, ModelSerializer.CONFIGURATION_JSON, true),
                    StandardCharsets.UTF_8);
            if (format.equals(ModelMetadata.FORMAT_1)) {
                json = FormatUpgrade.v1ToV2(json);
            }
            var foreign = StockForm.foreignClasses(json);
            if (!foreign.isEmpty()) {
                throw new ResNeXtException(file + " has a network configuration naming classes outside DL4J "
                        + foreign + "; a " + format + " zip names only DL4J's own");
            }
            ComputationGraphConfiguration conf;
            try {
                conf = ComputationGraphConfiguration.fromJson(json);
            } catch (RuntimeException e) {
                throw new ResNeXtException(file + " has an invalid network configuration: " + rootMessage(e));
            }
            INDArray params = array(file, zip, ModelSerializer.COEFFICIENTS_BIN, true);
            INDArray state = loadUpdater ? array(file, zip, ModelSerializer.UPDATER_BIN, false) : null;
            DataNormalization normalizer = null;
            ZipEntry ne = zip.getEntry(ModelSerializer.NORMALIZER_BIN);
            if (ne != null) {
                try (InputStream in = new BufferedInputStream(zip.getInputStream(ne))) {
                    normalizer = NormalizerSerializer.getDefault().restore(in);
                } catch (Exception e) {
                    throw new ResNeXtException(file + " has an unreadable normaliser (" + rootMessage(e) + ")");
                }
            }
            Map<String, byte[]> extras = new LinkedHashMap<>();
            var entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (e.getName().startsWith(EXTRA_PREFIX)) {
                    extras.put(e.getName().substring(EXTRA_PREFIX.length()), bytes(file, zip, e.getName(), true));
                }
            }
            return new Stored(metadata, conf, params, state, normalizer, extras, format);
        } catch (ZipException e) {
            throw new ResNeXtException(file + " is not a valid model zip (damaged, truncated or not a zip: "
                    + e.getMessage() + ")");
        } catch (IOException e) {
            throw new ResNeXtException("cannot read model zip " + file + ": " + AtomicFiles.describe(e));
        }
    }

    private static ModelMetadata metadata(Path file, ZipFile zip) throws IOException {
        byte[] raw = bytes(file, zip, METADATA, true);
        ModelMetadata m;
        try {
            m = JSON.readValue(raw, ModelMetadata.class);
        } catch (IOException | RuntimeException e) {
            throw new ResNeXtException(file + " has malformed metadata (" + METADATA + "): " + rootMessage(e));
        }
        if (m == null || m.config() == null) {
            throw new ResNeXtException(file + " has malformed metadata (" + METADATA + "): no network configuration");
        }
        return m;
    }

    private static byte[] bytes(Path file, ZipFile zip, String name, boolean required) throws IOException {
        ZipEntry e = zip.getEntry(name);
        if (e == null) {
            if (required) {
                throw new ResNeXtException(file + " is damaged: entry " + name + " is missing");
            }
            return null;
        }
        try (InputStream in = zip.getInputStream(e)) {
            return in.readAllBytes();
        }
    }

    private static INDArray array(Path file, ZipFile zip, String name, boolean required) throws IOException {
        ZipEntry e = zip.getEntry(name);
        if (e == null) {
            if (required) {
                throw new ResNeXtException(file + " is damaged: entry " + name + " is missing");
            }
            return null;
        }
        try (java.io.DataInputStream in = new java.io.DataInputStream(new BufferedInputStream(zip.getInputStream(e)))) {
            return Nd4j.read(in);
        } catch (IOException | RuntimeException ex) {
            throw new ResNeXtException(file + " is damaged: entry " + name + " is not a readable array ("
                    + rootMessage(ex) + ")");
        }
    }

    /** Reads only the metadata (fast; no weights are loaded; checksums are not verified). */
    public static ModelMetadata readMetadata(Path file) {
        checkReadable(file);
        try (ZipFile zip = new ZipFile(file.toFile())) {
            if (zip.getEntry(METADATA) == null) {
                throw new ResNeXtException(file + " is not a resnext model zip (no " + METADATA + ")");
            }
            return metadata(file, zip);
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

    /**
     * Checks that the checksum list covers every entry of the zip, and every entry against it. A
     * missing, empty, malformed or incomplete list is damage: the file cannot switch its own
     * verification off. A DL4J zip without our two entries is reported as such.
     */
    private static void verify(Path file, ZipFile zip) throws IOException {
        ZipEntry ce = zip.getEntry(CHECKSUMS);
        if (ce == null) {
            if (zip.getEntry(ModelSerializer.CONFIGURATION_JSON) == null) {
                throw new ResNeXtException(file + " is a zip but not a model zip (no configuration.json)");
            }
            if (zip.getEntry(METADATA) == null) {
                throw new ResNeXtException(file + " is a plain DL4J zip, not a resnext model (no " + METADATA
                        + "); restore it with ModelSerializer and pass the graph to GraphRuntime.prepare");
            }
            throw new ResNeXtException(file + " is damaged: " + CHECKSUMS + " is missing");
        }
        Map<String, String> sums = new TreeMap<>();
        try (InputStream in = zip.getInputStream(ce)) {
            JsonNode node = JSON.readTree(in);
            if (node == null || !node.isObject() || node.isEmpty()) {
                throw new ResNeXtException(file + " is damaged: " + CHECKSUMS + " is empty or not a JSON object");
            }
            for (var it = node.fields(); it.hasNext(); ) {
                var f = it.next();
                if (!f.getValue().isTextual() || !SHA256.matcher(f.getValue().asText()).matches()) {
                    throw new ResNeXtException(file + " is damaged: " + CHECKSUMS + " has no valid SHA-256 for "
                            + f.getKey());
                }
                sums.put(f.getKey(), f.getValue().asText());
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ResNeXtException(file + " is damaged: " + CHECKSUMS + " is not valid JSON");
        }
        var entries = zip.entries();
        while (entries.hasMoreElements()) {
            ZipEntry e = entries.nextElement();
            if (!e.isDirectory() && !e.getName().equals(CHECKSUMS) && !sums.containsKey(e.getName())) {
                throw new ResNeXtException(file + " is damaged or altered: entry " + e.getName()
                        + " is not covered by " + CHECKSUMS);
            }
        }
        for (String required : new String[] {ModelSerializer.CONFIGURATION_JSON, ModelSerializer.COEFFICIENTS_BIN,
                METADATA}) {
            if (!sums.containsKey(required)) {
                throw new ResNeXtException(file + " is damaged: " + CHECKSUMS + " does not cover " + required);
            }
        }
        for (Map.Entry<String, String> s : sums.entrySet()) {
            String name = s.getKey();
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

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        int nl = m.indexOf('\n');
        return nl > 0 ? m.substring(0, nl) : m;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
