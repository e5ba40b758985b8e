package dev.resnext.io;

import dev.resnext.runtime.GraphRuntime;

import dev.resnext.ResNeXtException;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.model.Topology;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads a torchvision ResNet/ResNeXt {@code state_dict} (saved as {@code .npz} by
 * {@code scripts/export-torchvision.py}, keyed by the PyTorch names) into the graph that
 * {@link ResNeXtGraphFactory} builds for a {@link ResNeXtConfig}.
 *
 * <p>Key mapping ({@code S} = stage, 1-based = torchvision {@code layerS}; {@code B} = block, 0-based):
 * <pre>
 * conv1.weight                      stem.conv W                  [out, in, kH, kW], same layout
 * bn1.{weight,bias,running_mean,running_var}
 *                                   stem.bn gamma, beta, mean, var (variance stored as is)
 * layerS.B.conv1 / bn1              stageS.blockB.conv1 / bn1
 * layerS.B.conv2.weight             stageS.blockB.groupKK.conv3x3 W, one slice per group: group k takes
 *                                   output channels k*gw..(k+1)*gw-1 (its input channels are cut out by
 *                                   the split vertex in the same group-major order)
 * layerS.B.bn2, conv3, bn3          stageS.blockB.bn2, conv3, bn3
 * layerS.B.downsample.0 / .1        stageS.blockB.downsample.conv / downsample.bn
 * fc.weight, fc.bias                head.fc W (transposed: DL4J keeps [nIn, nOut]), b
 * *.num_batches_tracked             ignored (only used by PyTorch in training with momentum=None)
 * </pre>
 * Everything is checked before anything is loaded: every expected key must be present with the
 * expected shape and a floating-point type, and no other key may be present. The first offending
 * key is reported in one line ({@link StateDictMismatchException}).
 */
public final class TorchvisionImporter {

    /** Suffix of the BN step counters in a PyTorch state dict; they do not affect inference. */
    public static final String NUM_BATCHES_TRACKED = "num_batches_tracked";

    /** torchvision's ImageNet input normalisation (the pretrained weights expect it). */
    public static final Map<String, Object> TORCHVISION_PREPROCESSING;

    static {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("convention", "torchvision");
        p.put("layout", "NCHW");
        p.put("channels", "RGB");
        p.put("scale", "pixel / 255 (0..1)");
        p.put("mean", List.of(0.485, 0.456, 0.406));
        p.put("std", List.of(0.229, 0.224, 0.225));
        p.put("formula", "(pixel / 255 - mean) / std, per channel");
        TORCHVISION_PREPROCESSING = Collections.unmodifiableMap(p);
    }

    /** How a state-dict tensor is placed into DL4J parameters. */
    public enum Kind {
        /** Same layout (reshaped only where DL4J keeps vectors as [1, n]). */
        COPY,
        /** Grouped 3x3 weight, cut along the output channels into one slice per branch convolution. */
        GROUPED,
        /** Linear weight [out, in], transposed to DL4J's [nIn, nOut]. */
        TRANSPOSE
    }

    /**
     * One state-dict tensor and where it goes.
     *
     * @param key      PyTorch state-dict name
     * @param shape    PyTorch shape
     * @param vertices DL4J layer names: one, or for {@link Kind#GROUPED} the branch convolutions in group order
     * @param param    DL4J parameter key ("W", "b", "gamma", "beta", "mean", "var")
     * @param kind     how the values are laid out
     */
    public record Mapping(String key, long[] shape, List<String> vertices, String param, Kind kind) {
        public Mapping {
            vertices = List.copyOf(vertices);
        }

        Mapping(String key, long[] shape, String vertex, String param, Kind kind) {
            this(key, shape, List.of(vertex), param, kind);
        }

        /** The (first) DL4J layer, for messages. */
        public String vertex() {
            return vertices.get(0);
        }
    }

    /**
     * The result of an import.
     *
     * @param graph      the network with the imported weights (inference uses the imported BN statistics)
     * @param tensors    number of tensors loaded
     * @param ignored    keys that were present but not needed ({@code num_batches_tracked})
     * @param provenance what {@link ModelMetadata#provenance()} should record
     */
    public record ImportResult(ComputationGraph graph, int tensors, List<String> ignored,
                               Map<String, Object> provenance) {
    }

    private TorchvisionImporter() {
    }

    // ------------------------------------------------------------------------------------ mapping

    /** Every tensor the configuration needs, in torchvision's state-dict order, placed on its {@link Topology}. */
    public static List<Mapping> mappings(ResNeXtConfig c) {
        Topology topology = Topology.of(c);
        List<Mapping> m = new ArrayList<>();
        Topology.Stem stem = topology.stem();
        m.add(new Mapping("conv1.weight", shape(stem.width(), stem.inChannels(), stem.kernel(), stem.kernel()),
                stem.conv(), "W", Kind.COPY));
        addBn(m, "bn1", stem.bn(), stem.width());
        for (Topology.Block b : topology.blocks()) {
            String t = "layer" + b.stage() + "." + b.index() + ".";
            int width = b.width();
            int in = b.inChannels();
            int out = b.outChannels();
            int k = Topology.GROUP_KERNEL;
            m.add(new Mapping(t + "conv1.weight", shape(width, in, 1, 1), b.conv1(), "W", Kind.COPY));
            addBn(m, t + "bn1", b.bn1(), width);
            m.add(new Mapping(t + "conv2.weight", shape(width, b.groupWidth(), k, k), b.groupConvs(), "W",
                    Kind.GROUPED));
            addBn(m, t + "bn2", b.bn2(), width);
            m.add(new Mapping(t + "conv3.weight", shape(out, width, 1, 1), b.conv3(), "W", Kind.COPY));
            addBn(m, t + "bn3", b.bn3(), out);
            if (b.projects()) {
                m.add(new Mapping(t + "downsample.0.weight", shape(out, in, 1, 1), b.downsampleConv(), "W",
                        Kind.COPY));
                addBn(m, t + "downsample.1", b.downsampleBn(), out);
            }
        }
        Topology.Head head = topology.head();
        m.add(new Mapping("fc.weight", shape(head.classes(), head.inChannels()), head.fc(), "W", Kind.TRANSPOSE));
        m.add(new Mapping("fc.bias", shape(head.classes()), head.fc(), "b", Kind.COPY));
        return m;
    }

    private static void addBn(List<Mapping> m, String torch, String vertex, int channels) {
        m.add(new Mapping(torch + ".weight", shape(channels), vertex, "gamma", Kind.COPY));
        m.add(new Mapping(torch + ".bias", shape(channels), vertex, "beta", Kind.COPY));
        m.add(new Mapping(torch + ".running_mean", shape(channels), vertex, "mean", Kind.COPY));
        m.add(new Mapping(torch + ".running_var", shape(channels), vertex, "var", Kind.COPY));
    }

    private static long[] shape(long... dims) {
        return dims;
    }

    // ------------------------------------------------------------------------------------ checking

    /**
     * Checks the names, shapes and types of a state dict against the configuration, without loading
     * any data (and without ND4J).
     *
     * @param headers state-dict tensors in file order (e.g. {@link NpyFiles#readNpzHeaders(Path)})
     * @param source  the file name, for messages
     * @return the keys that are present but ignored ({@code num_batches_tracked})
     * @throws StateDictMismatchException naming the first offending key
     */
    public static List<String> check(ResNeXtConfig c, Map<String, NpyFiles.Header> headers, String source) {
        Map<String, Mapping> expected = new LinkedHashMap<>();
        for (Mapping m : mappings(c)) {
            expected.put(m.key(), m);
        }
        List<String> ignored = new ArrayList<>();
        List<String[]> problems = new ArrayList<>(); // {key, message}
        String model = "model '" + c.getName() + "'";
        for (Map.Entry<String, NpyFiles.Header> e : headers.entrySet()) {
            String key = e.getKey();
            NpyFiles.Header h = e.getValue();
            Mapping m = expected.get(key);
            if (m == null) {
                if (key.endsWith("." + NUM_BATCHES_TRACKED) && expected.containsKey(
                        key.substring(0, key.length() - NUM_BATCHES_TRACKED.length()) + "running_mean")) {
                    ignored.add(key);
                    continue;
                }
                String hint = " (is the file from another architecture?)";
                if (key.startsWith("module.") && (expected.containsKey(key.substring(7))
                        || key.endsWith("." + NUM_BATCHES_TRACKED))) {
                    hint = " (the keys carry DataParallel's 'module.' prefix; strip it when exporting)";
                }
                problems.add(new String[] {key, "unexpected tensor '" + key + "' " + h.shapeString() + " in "
                        + source + ": " + model + " has no such parameter" + hint});
            } else if (!Arrays.equals(m.shape(), h.shape())) {
                problems.add(new String[] {key, "tensor '" + key + "' in " + source + " has shape "
                        + h.shapeString() + " but " + model + " needs " + Arrays.toString(m.shape())
                        + shapeHint(c, m, h)});
            } else if (!h.isFloating()) {
                problems.add(new String[] {key, "tensor '" + key + "' in " + source + " has type " + h.dtype()
                        + "; a floating-point type (float32) is needed"});
            }
        }
        for (Mapping m : expected.values()) {
            if (!headers.containsKey(m.key())) {
                problems.add(new String[] {m.key(), "missing tensor '" + m.key() + "' " + Arrays.toString(m.shape())
                        + " in " + source + ": " + model + " needs it"});
            }
        }
        if (!problems.isEmpty()) {
            String[] first = problems.get(0);
            String more = problems.size() > 1 ? " (and " + (problems.size() - 1) + " more tensors that do not fit)" : "";
            throw new StateDictMismatchException(first[1] + more, first[0], problems.size());
        }
        return ignored;
    }

    private static String shapeHint(ResNeXtConfig c, Mapping m, NpyFiles.Header h) {
        if (m.key().startsWith("fc.") && h.shape().length >= 1 && h.shape().length == m.shape().length) {
            return " (the weights have " + h.shape()[0] + " classes, the model " + c.getNumClasses() + ")";
        }
        if (m.key().equals("conv1.weight") && h.shape().length == 4 && h.shape()[1] != c.getInputChannels()
                && h.shape()[0] == m.shape()[0] && h.shape()[2] == m.shape()[2]) {
            return " (the weights take " + h.shape()[1] + " input channels, the model " + c.getInputChannels() + ")";
        }
        return "";
    }

    /** Headers of in-memory arrays, for {@link #check}. */
    public static Map<String, NpyFiles.Header> headers(Map<String, INDArray> stateDict) {
        Map<String, NpyFiles.Header> h = new LinkedHashMap<>();
        stateDict.forEach((k, v) -> h.put(k, new NpyFiles.Header(descr(v.dataType()), v.shape(), false)));
        return h;
    }

    private static String descr(DataType t) {
        return switch (t) {
            case HALF -> "<f2";
            case FLOAT -> "<f4";
            case DOUBLE -> "<f8";
            case BFLOAT16 -> "<f2";
            case LONG -> "<i8";
            case INT -> "<i4";
            case SHORT -> "<i2";
            case BYTE -> "|i1";
            case UBYTE -> "|u1";
            case BOOL -> "|b1";
            default -> "|" + t.name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    // ------------------------------------------------------------------------------------ loading

    /**
     * Checks a state-dict {@code .npz}, builds the network of {@code config} and loads the weights.
     * The file's headers are checked first, so that a wrong file fails before the network is built.
     */
    public static ImportResult importFile(Path npz, ResNeXtConfig config) {
        String source = npz.getFileName().toString();
        List<String> ignored = check(config, NpyFiles.readNpzHeaders(npz), source);
        Map<String, INDArray> stateDict = NpyFiles.readNpz(npz);
        ComputationGraph graph = GraphRuntime.create(ResNeXtGraphFactory.build(config));
        int n = load(graph, config, stateDict, source);
        Map<String, Object> provenance = new LinkedHashMap<>();
        provenance.put("source", "torchvision");
        provenance.put("weightsFile", source);
        provenance.put("sha256", sha256(npz));
        provenance.put("tensors", n);
        provenance.put("ignoredTensors", ignored.size());
        return new ImportResult(graph, n, ignored, provenance);
    }

    /** Builds the network of {@code config} and loads an in-memory state dict into it. */
    public static ComputationGraph importStateDict(ResNeXtConfig config, Map<String, INDArray> stateDict,
                                                   String source) {
        check(config, headers(stateDict), source);
        ComputationGraph graph = GraphRuntime.create(ResNeXtGraphFactory.build(config));
        load(graph, config, stateDict, source);
        return graph;
    }

    /**
     * Loads a state dict into an initialised graph built from {@code config}.
     *
     * @return the number of tensors loaded
     * @throws StateDictMismatchException when the state dict does not fit (nothing is changed then)
     */
    public static int load(ComputationGraph graph, ResNeXtConfig config, Map<String, INDArray> stateDict,
                           String source) {
        check(config, headers(stateDict), source);
        int n = 0;
        for (Mapping m : mappings(config)) {
            INDArray src = stateDict.get(m.key());
            switch (m.kind()) {
                case COPY -> {
                    INDArray target = param(graph, m.vertex(), m.param());
                    requireLength(m, target, src.length());
                    target.assign(src.castTo(target.dataType()).reshape(target.shape()));
                }
                case TRANSPOSE -> {
                    INDArray target = param(graph, m.vertex(), m.param());
                    INDArray t = src.castTo(target.dataType()).transpose();
                    requireShape(m, target, t.shape());
                    target.assign(t);
                }
                case GROUPED -> {
                    int groups = m.vertices().size();
                    long gw = m.shape()[0] / groups;
                    for (int k = 0; k < groups; k++) {
                        INDArray target = param(graph, m.vertices().get(k), m.param());
                        INDArray slice = src.get(NDArrayIndex.interval(k * gw, (k + 1) * gw), NDArrayIndex.all(),
                                NDArrayIndex.all(), NDArrayIndex.all()).castTo(target.dataType());
                        requireShape(m, target, slice.shape());
                        target.assign(slice);
                    }
                }
            }
            n++;
        }
        return n;
    }

    private static INDArray param(ComputationGraph graph, String layer, String key) {
        Layer l = graph.getLayer(layer);
        if (l == null) {
            throw new IllegalStateException("graph has no layer '" + layer + "'");
        }
        INDArray p = l.paramTable().get(key);
        if (p == null) {
            // e.g. a BN layer built with useLogStd(true) keeps log10(std) instead of the variance
            throw new IllegalStateException("layer '" + layer + "' has no parameter '" + key + "' (has "
                    + l.paramTable().keySet() + ")");
        }
        return p;
    }

    private static void requireLength(Mapping m, INDArray target, long length) {
        if (target.length() != length) {
            throw new IllegalStateException(m.key() + " -> " + m.vertex() + "." + m.param() + ": "
                    + length + " values for a parameter of shape " + Arrays.toString(target.shape()));
        }
    }

    private static void requireShape(Mapping m, INDArray target, long[] shape) {
        if (!Arrays.equals(target.shape(), shape)) {
            throw new IllegalStateException(m.key() + " -> " + m.vertex() + "." + m.param() + ": shape "
                    + Arrays.toString(shape) + " for a parameter of shape " + Arrays.toString(target.shape()));
        }
    }

    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int r;
            while ((r = in.read(buf)) > 0) {
                md.update(buf, 0, r);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new ResNeXtException("cannot read " + file + ": " + AtomicFiles.describe(e));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
