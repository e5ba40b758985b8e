package dev.resnext.export;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.Versions;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.io.AtomicFiles;
import dev.resnext.model.VertexNames;
import onnx.Onnx;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.shade.protobuf.UnsafeByteOperations;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a model zip's network as an ONNX model: Conv (one with {@code group} per block's
 * cardinality branches, or the zip's Slice/Conv/Concat form), BatchNormalization (folded into the
 * convolutions by default), Relu, Add, MaxPool, GlobalAveragePool, Flatten, Gemm and Softmax or
 * Sigmoid as the head says. Graph outputs are {@value #LOGITS} (the output of {@code head.fc}, what
 * {@code forward} writes) and {@value #PROBABILITIES}. Labels, preprocessing, thresholds,
 * provenance, training summary and configuration become ONNX metadata properties.
 *
 * <p>The graph is translated from the zip's stock DL4J configuration, vertex by vertex, so it
 * computes what DL4J's own layers compute; protobuf messages are ND4J's bundled ONNX classes
 * ({@code onnx.Onnx} in nd4j-api).
 */
public final class OnnxExporter {

    /** Name of the graph input: NCHW float32. */
    public static final String INPUT = "input";
    /** Name of the pre-softmax output. */
    public static final String LOGITS = "logits";
    /** Name of the softmax or sigmoid output. */
    public static final String PROBABILITIES = "probabilities";
    /** Name of the batch axis with dynamic batch size. */
    public static final String BATCH_AXIS = "batch";

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What was written.
     *
     * @param file       the ONNX file
     * @param bytes      its size
     * @param opset      the opset
     * @param inputShape input dimensions (-1 for a dynamic batch)
     * @param classes    outputs of the classifier
     * @param operators  node count per operator type
     * @param weights    float values stored as initializers
     * @param metadata   the metadata properties
     */
    public record Result(Path file, long bytes, int opset, long[] inputShape, int classes, Map<String, Integer> operators,
                         long weights, Map<String, String> metadata) {
    }

    private OnnxExporter() {
    }

    /**
     * Exports a loaded zip to {@code out}, atomically.
     *
     * @throws NotExportableException when the network is not a ResNeXt of this project, or the preprocessing
     *                                to include is not a per-channel standardisation
     */
    public static Result export(LoadedModel model, OnnxExportOptions options, Path out) {
        Onnx.ModelProto proto = toOnnx(model, options);
        AtomicFiles.write(out, proto::writeTo);
        Map<String, Integer> ops = new TreeMap<>();
        proto.getGraph().getNodeList().forEach(n -> ops.merge(n.getOpType(), 1, Integer::sum));
        long weights = proto.getGraph().getInitializerList().stream()
                .filter(t -> t.getDataType() == Onnx.TensorProto.DataType.FLOAT_VALUE)
                .mapToLong(t -> t.getRawData().size() / 4).sum();
        Map<String, String> meta = new LinkedHashMap<>();
        proto.getMetadataPropsList().forEach(p -> meta.put(p.getKey(), p.getValue()));
        long[] shape = proto.getGraph().getInput(0).getType().getTensorType().getShape().getDimList().stream()
                .mapToLong(d -> d.hasDimValue() || d.getDimParam().isEmpty() ? d.getDimValue() : -1).toArray();
        int classes = (int) proto.getGraph().getOutput(0).getType().getTensorType().getShape().getDim(1).getDimValue();
        return new Result(out, proto.getSerializedSize(), options.opset(), shape, classes, ops, weights, meta);
    }

    /** The ONNX model of a loaded zip. */
    public static Onnx.ModelProto toOnnx(LoadedModel model, OnnxExportOptions options) {
        ExportSource src = ExportSource.of(model);
        OnnxGraph g = translate(src);
        if (!options.keepBranches()) {
            GraphPasses.groupBranches(g);
        }
        if (!options.keepBatchNorm()) {
            GraphPasses.foldBatchNorm(g);
        }
        if (options.includePreprocessing()) {
            double[][] ms = standardisation(src);
            GraphPasses.prependStandardisation(g, INPUT, ms[0], ms[1]);
        }
        g.dropUnusedConstants();
        return proto(g, src, options);
    }

    // ------------------------------------------------------------------------------------ translation

    private static OnnxGraph translate(ExportSource src) {
        OnnxGraph g = new OnnxGraph();
        Map<String, String> tensor = new LinkedHashMap<>();
        String input = src.conf.getNetworkInputs().get(0);
        tensor.put(input, INPUT);
        g.channels.put(INPUT, (long) src.config.getInputChannels());
        for (String v : src.conf.getTopologicalOrderStr()) {
            if (src.conf.getNetworkInputs().contains(v)) {
                continue;
            }
            List<String> in = src.conf.getVertexInputs().get(v).stream().map(tensor::get).toList();
            String out = v.equals(VertexNames.HEAD_FC) ? LOGITS
                    : src.conf.getNetworkOutputs().contains(v) ? PROBABILITIES : v;
            GraphVertex vertex = src.conf.getVertices().get(v);
            if (vertex instanceof FrozenVertex f) {
                vertex = f.getUnderlying();
            }
            Layer layer = ExportSource.layerOf(vertex);
            if (layer != null) {
                layer(g, src, v, layer, in.get(0), out);
            } else if (vertex instanceof SubsetVertex s) {
                String base = v;
                g.add(new OnnxGraph.Node("Slice", v, List.of(in.get(0), g.longs(base + ".starts", s.getFrom()),
                        g.longs(base + ".ends", s.getTo() + 1L), g.longs(base + ".axes", 1)), List.of(out)));
                g.channels.put(out, (long) s.getTo() - s.getFrom() + 1);
            } else if (vertex instanceof MergeVertex) {
                g.add(new OnnxGraph.Node("Concat", v, in, List.of(out)).attr("axis", 1L));
                g.channels.put(out, in.stream().mapToLong(g.channels::get).sum());
            } else if (vertex instanceof ElementWiseVertex e && e.getOp() == ElementWiseVertex.Op.Add) {
                g.add(new OnnxGraph.Node(in.size() == 2 ? "Add" : "Sum", v, in, List.of(out)));
                g.channels.put(out, g.channels.get(in.get(0)));
            } else {
                throw unsupported(src, v, vertex.getClass().getSimpleName());
            }
            tensor.put(v, out);
        }
        return g;
    }

    private static void layer(OnnxGraph g, ExportSource src, String v, Layer layer, String in, String out) {
        Long channels = g.channels.get(in);
        if (layer.getClass() == ConvolutionLayer.class) {
            ConvolutionLayer c = (ConvolutionLayer) layer;
            requireNchw(src, v, c.getCnn2dDataFormat());
            requirePadding(src, v, c.getConvolutionMode());
            List<String> inputs = new ArrayList<>(List.of(in, weights(g, src, v, "W")));
            if (c.hasBias()) {
                inputs.add(vector(g, src, v, "b"));
            }
            String convOut = activationName(c, out);
            g.add(new OnnxGraph.Node("Conv", v, inputs, List.of(convOut))
                    .attr("kernel_shape", longs(c.getKernelSize()))
                    .attr("strides", longs(c.getStride()))
                    .attr("pads", pads(c.getPadding()))
                    .attr("dilations", longs(c.getDilation()))
                    .attr("group", 1L));
            g.channels.put(convOut, c.getNOut());
            activation(g, src, v, c.getActivationFn(), convOut, out);
            g.channels.put(out, c.getNOut());
        } else if (layer.getClass() == BatchNormalization.class) {
            BatchNormalization b = (BatchNormalization) layer;
            if (b.isUseLogStd() || b.isLockGammaBeta()) {
                throw unsupported(src, v, "BatchNormalization with " + (b.isUseLogStd() ? "log-std statistics"
                        : "locked gamma/beta"));
            }
            requireNchw(src, v, b.getCnn2DFormat());
            g.add(new OnnxGraph.Node("BatchNormalization", v, List.of(in, vector(g, src, v, "gamma"),
                    vector(g, src, v, "beta"), vector(g, src, v, "mean"), vector(g, src, v, "var")), List.of(out))
                    .attr("epsilon", b.getEps()));
            g.channels.put(out, channels);
        } else if (layer.getClass() == ActivationLayer.class) {
            activation(g, src, v, ((ActivationLayer) layer).getActivationFn(), in, out);
            g.channels.put(out, channels);
        } else if (layer.getClass() == SubsamplingLayer.class) {
            SubsamplingLayer s = (SubsamplingLayer) layer;
            if (s.getPoolingType() != org.deeplearning4j.nn.conf.layers.PoolingType.MAX) {
                throw unsupported(src, v, s.getPoolingType() + " pooling");
            }
            requireNchw(src, v, s.getCnn2dDataFormat());
            requirePadding(src, v, s.getConvolutionMode());
            // zero padding (DL4J) and ONNX's -inf padding agree here because the input follows a ReLU
            g.add(new OnnxGraph.Node("MaxPool", v, List.of(in), List.of(out))
                    .attr("kernel_shape", longs(s.getKernelSize()))
                    .attr("strides", longs(s.getStride()))
                    .attr("pads", pads(s.getPadding()))
                    .attr("dilations", longs(s.getDilation())));
            g.channels.put(out, channels);
        } else if (layer.getClass() == GlobalPoolingLayer.class) {
            GlobalPoolingLayer p = (GlobalPoolingLayer) layer;
            if (p.getPoolingType() != PoolingType.AVG || !p.isCollapseDimensions()) {
                throw unsupported(src, v, p.getPoolingType() + " global pooling");
            }
            g.add(new OnnxGraph.Node("GlobalAveragePool", v, List.of(in), List.of(v + ".nchw")));
            g.add(new OnnxGraph.Node("Flatten", v + ".flatten", List.of(v + ".nchw"), List.of(out)).attr("axis", 1L));
            g.channels.put(out, channels);
        } else if (layer.getClass() == DenseLayer.class) {
            DenseLayer d = (DenseLayer) layer;
            INDArray w = src.param(v, "W"); // [nIn, nOut]
            List<String> inputs = new ArrayList<>(List.of(in, g.floats(v + ".W", values(w), w.shape())));
            if (d.hasBias()) {
                inputs.add(vector(g, src, v, "b"));
            }
            String gemmOut = activationName(d, out);
            g.add(new OnnxGraph.Node("Gemm", v, inputs, List.of(gemmOut)));
            activation(g, src, v, d.getActivationFn(), gemmOut, out);
            g.channels.put(out, d.getNOut());
        } else if (layer.getClass() == LossLayer.class) {
            activation(g, src, v, ((LossLayer) layer).getActivationFn(), in, out);
            g.channels.put(out, channels);
        } else {
            throw unsupported(src, v, layer.getClass().getSimpleName());
        }
    }

    /** The tensor between a layer and its own activation (the layer's output when the activation is identity). */
    private static String activationName(BaseLayer l, String out) {
        return l.getActivationFn() instanceof ActivationIdentity ? out : out + ".preactivation";
    }

    private static void activation(OnnxGraph g, ExportSource src, String v, IActivation a, String in, String out) {
        String name = in.endsWith(".preactivation") ? v + ".activation" : v;
        if (a instanceof ActivationIdentity) {
            if (!in.equals(out)) {
                g.add(new OnnxGraph.Node("Identity", name, List.of(in), List.of(out)));
            }
        } else if (a instanceof ActivationReLU r) {
            if (r.getMax() != null || nonZero(r.getThreshold()) || nonZero(r.getNegativeSlope())) {
                throw unsupported(src, v, "a clipped or leaky ReLU");
            }
            g.add(new OnnxGraph.Node("Relu", name, List.of(in), List.of(out)));
        } else if (a instanceof ActivationSigmoid) {
            g.add(new OnnxGraph.Node("Sigmoid", name, List.of(in), List.of(out)));
        } else if (a instanceof ActivationSoftmax) {
            g.add(new OnnxGraph.Node("Softmax", name, List.of(in), List.of(out)).attr("axis", 1L));
        } else {
            throw unsupported(src, v, "activation " + a);
        }
    }

    private static boolean nonZero(Double d) {
        return d != null && d != 0.0;
    }

    private static String weights(OnnxGraph g, ExportSource src, String v, String key) {
        INDArray w = src.param(v, key);
        return g.floats(v + "." + key, values(w), w.shape());
    }

    private static String vector(OnnxGraph g, ExportSource src, String v, String key) {
        INDArray p = src.param(v, key);
        return g.floats(v + "." + key, values(p), p.length());
    }

    /** Values in C order, as float32. */
    static float[] values(INDArray a) {
        return a.castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    private static double[] doubles(INDArray a) {
        return a.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    }

    private static long[] longs(int[] a) {
        return Arrays.stream(a).asLongStream().toArray();
    }

    private static long[] pads(int[] p) {
        return new long[] {p[0], p[1], p[0], p[1]};
    }

    private static void requireNchw(ExportSource src, String v, CNN2DFormat f) {
        if (f != null && f != CNN2DFormat.NCHW) {
            throw unsupported(src, v, f + " data format");
        }
    }

    private static void requirePadding(ExportSource src, String v, ConvolutionMode m) {
        // Truncate and Strict use the explicit, symmetric padding (PyTorch's and ONNX's); Same pads asymmetrically
        if (m != null && m != ConvolutionMode.Truncate && m != ConvolutionMode.Strict) {
            throw unsupported(src, v, "convolution mode " + m);
        }
    }

    private static NotExportableException unsupported(ExportSource src, String v, String what) {
        return new NotExportableException(src.fileName() + ": vertex '" + v + "' uses " + what
                + ", which the ONNX export does not support");
    }

    // ------------------------------------------------------------------------------------ preprocessing

    /** Per-channel {mean, std} of the model's input standardisation. */
    private static double[][] standardisation(ExportSource src) {
        int c = src.config.getInputChannels();
        if (src.normalizer instanceof NormalizerStandardize n) {
            double[] mean = doubles(n.getMean());
            double[] std = doubles(n.getStd());
            if (mean.length != c || std.length != c) {
                throw new NotExportableException(src.fileName() + ": its normaliser has " + mean.length
                        + " channels, the network " + c);
            }
            for (int i = 0; i < std.length; i++) {
                // ND4J's StandardizeStrategy divides by 1 where the standard deviation is 0
                std[i] = std[i] == 0 ? 1 : std[i];
            }
            return new double[][] {mean, std};
        }
        if (src.normalizer != null) {
            throw new NotExportableException(src.fileName() + ": its normaliser ("
                    + src.normalizer.getClass().getSimpleName() + ") is not a per-channel standardisation");
        }
        Map<String, Object> p = src.metadata.preprocessing();
        if (p.get("mean") instanceof List<?> mean && p.get("std") instanceof List<?> std
                && mean.size() == c && std.size() == c) {
            return new double[][] {mean.stream().mapToDouble(x -> ((Number) x).doubleValue()).toArray(),
                    std.stream().mapToDouble(x -> ((Number) x).doubleValue()).toArray()};
        }
        throw new NotExportableException(src.fileName() + " records no per-channel normalisation to include "
                + "(no normaliser and no mean/std in its preprocessing)");
    }

    // ------------------------------------------------------------------------------------ protobuf

    private static Onnx.ModelProto proto(OnnxGraph g, ExportSource src, OnnxExportOptions o) {
        Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder().setName(src.config.getName());
        for (OnnxGraph.Node n : g.nodes) {
            Onnx.NodeProto.Builder nb = Onnx.NodeProto.newBuilder().setOpType(n.op).setName(n.name)
                    .addAllInput(n.inputs).addAllOutput(n.outputs);
            n.attrs.forEach((k, v) -> nb.addAttribute(attribute(k, v)));
            graph.addNode(nb);
        }
        g.constants.forEach((name, c) -> graph.addInitializer(tensor(name, c)));
        Object batch = o.dynamicBatch() ? BATCH_AXIS : (Object) 1L;
        graph.addInput(valueInfo(INPUT, batch, (long) src.config.getInputChannels(),
                (long) src.config.getInputHeight(), (long) src.config.getInputWidth()));
        long classes = src.classes();
        graph.addOutput(valueInfo(LOGITS, batch, classes));
        graph.addOutput(valueInfo(PROBABILITIES, batch, classes));
        graph.setDocString("ResNeXt '" + src.config.getName() + "' exported from " + src.fileName()
                + " by resnext-dl4j: input NCHW float32 " + inputMeaning(o) + "; outputs " + LOGITS + " (pre-"
                + head(src) + ") and " + PROBABILITIES + " (" + head(src) + ")");

        Onnx.ModelProto.Builder m = Onnx.ModelProto.newBuilder()
                .setIrVersion(o.irVersion())
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(o.opset()))
                .setProducerName("resnext-dl4j")
                .setProducerVersion(Versions.application())
                .setDomain("dev.resnext")
                .setModelVersion(1)
                .setDocString("ResNeXt image classifier (" + src.config.getName() + "), see metadata_props")
                .setGraph(graph);
        metadata(src, o).forEach((k, v) -> m.addMetadataProps(Onnx.StringStringEntryProto.newBuilder()
                .setKey(k).setValue(v)));
        return m.build();
    }

    private static String head(ExportSource src) {
        return src.config.isMultiLabel() ? "sigmoid" : "softmax";
    }

    private static String inputMeaning(OnnxExportOptions o) {
        return o.includePreprocessing() ? "image scaled to [0, 1] (the graph standardises it)"
                : "image standardised as metadata 'preprocessing' says";
    }

    /** The metadata properties: every value a string, structured ones as JSON. */
    static Map<String, String> metadata(ExportSource src, OnnxExportOptions o) {
        ModelMetadata md = src.metadata;
        Map<String, String> p = new LinkedHashMap<>();
        p.put("resnext.format", md.format());
        p.put("model", src.config.getName());
        p.put("labels", json(md.labels()));
        p.put("classes", Integer.toString(src.classes()));
        p.put("head", head(src));
        p.put("decision", src.config.isMultiLabel()
                ? "a label is present when its probability > its threshold (see thresholds)"
                : "the class with the highest probability");
        p.put("thresholds", json(thresholds(src)));
        p.put("input", json(Map.of("name", INPUT, "layout", "NCHW", "type", "float32",
                "shape", List.of(o.dynamicBatch() ? BATCH_AXIS : "1", src.config.getInputChannels(),
                        src.config.getInputHeight(), src.config.getInputWidth()),
                "values", inputMeaning(o))));
        Map<String, Object> pre = new LinkedHashMap<>(md.preprocessing());
        pre.put("normalizationInGraph", o.includePreprocessing());
        if (o.includePreprocessing()) {
            double[][] ms = standardisation(src);
            pre.put("graphMean", ms[0]);
            pre.put("graphStd", ms[1]);
        } else if (src.normalizer instanceof NormalizerStandardize n) {
            // the zip's normalizer.bin is not readable outside DL4J: give its numbers
            pre.put("normalizerMean", doubles(n.getMean()));
            pre.put("normalizerStd", doubles(n.getStd()));
        }
        p.put("preprocessing", json(pre));
        p.put("provenance", json(md.provenance()));
        p.put("training", json(md.training()));
        p.put("config", src.config.toJson());
        p.put("versions", json(md.versions()));
        if (md.createdAt() != null) {
            p.put("createdAt", md.createdAt());
        }
        Map<String, Object> export = new LinkedHashMap<>();
        export.put("source", src.fileName());
        export.put("opset", o.opset());
        export.put("groupedConvolutions", !o.keepBranches());
        export.put("batchNormFolded", !o.keepBatchNorm());
        export.put("exporter", "resnext-dl4j " + Versions.application());
        p.put("export", json(export));
        return p;
    }

    /** Thresholds the zip records anywhere in its metadata, or the default the project scores multi-label models at. */
    private static Map<String, Object> thresholds(ExportSource src) {
        Map<String, Object> t = new LinkedHashMap<>();
        collectThresholds("training", src.metadata.training(), t);
        collectThresholds("provenance", src.metadata.provenance(), t);
        if (t.isEmpty() && src.config.isMultiLabel()) {
            t.put("default", dev.resnext.eval.MultiLabelMetrics.DEFAULT_THRESHOLD);
        }
        return t;
    }

    private static void collectThresholds(String path, Map<?, ?> m, Map<String, Object> out) {
        m.forEach((k, v) -> {
            String key = path + "." + k;
            if (k.toString().toLowerCase(java.util.Locale.ROOT).contains("threshold")) {
                out.put(key, v);
            } else if (v instanceof Map<?, ?> inner) {
                collectThresholds(key, inner, out);
            }
        });
    }

    private static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Onnx.AttributeProto attribute(String name, Object v) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name);
        if (v instanceof Long l) {
            a.setType(Onnx.AttributeProto.AttributeType.INT).setI(l);
        } else if (v instanceof long[] ls) {
            a.setType(Onnx.AttributeProto.AttributeType.INTS);
            for (long l : ls) {
                a.addInts(l);
            }
        } else if (v instanceof Double d) {
            a.setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(d.floatValue());
        } else if (v instanceof String s) {
            a.setType(Onnx.AttributeProto.AttributeType.STRING).setS(org.nd4j.shade.protobuf.ByteString.copyFromUtf8(s));
        } else {
            throw new IllegalArgumentException("attribute " + name + ": " + v);
        }
        return a.build();
    }

    private static Onnx.TensorProto tensor(String name, OnnxGraph.Constant c) {
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name);
        for (long d : c.dims) {
            t.addDims(d);
        }
        ByteBuffer buf;
        if (c.floats != null) {
            t.setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE);
            buf = ByteBuffer.allocate(c.floats.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            buf.asFloatBuffer().put(c.floats);
        } else {
            t.setDataType(Onnx.TensorProto.DataType.INT64_VALUE);
            buf = ByteBuffer.allocate(c.longs.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            buf.asLongBuffer().put(c.longs);
        }
        // raw_data is little-endian by the ONNX specification
        return t.setRawData(UnsafeByteOperations.unsafeWrap(buf.array())).build();
    }

    private static Onnx.ValueInfoProto valueInfo(String name, Object... dims) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        for (Object d : dims) {
            Onnx.TensorShapeProto.Dimension.Builder db = Onnx.TensorShapeProto.Dimension.newBuilder();
            if (d instanceof String s) {
                db.setDimParam(s);
            } else {
                db.setDimValue((Long) d);
            }
            shape.addDim(db);
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder()
                        .setElemType(Onnx.TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }
}
