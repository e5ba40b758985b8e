package dev.resnext.export;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.runtime.GraphOutputs;
import onnx.Onnx;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.resnext.export.OnnxRuntimeCheck.assertClose;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Exports the tiny and small presets (random weights, non-trivial BN statistics) in every form and
 * runs each ONNX file in ONNX Runtime: its logits must be DL4J's (the fast runtime's, as
 * {@code forward} computes them) within 1e-4.
 */
class OnnxExporterTest {

    static final double TOL = 1e-4;

    @TempDir
    static Path dir;
    static Path tinyZip;
    static Path smallZip;

    @BeforeAll
    static void models() {
        Backends.initialize(BackendChoice.CPU);
        tinyZip = randomModel(dir.resolve("tiny.zip"), Presets.tiny(), 11, null);
        NormalizerStandardize n = dev.resnext.data.Normalization.of(new float[] {0.45f, 0.5f, 0.55f},
                new float[] {0.2f, 0.25f, 0.3f});
        smallZip = randomModel(dir.resolve("small.zip"), Presets.small(), 12, n);
    }

    /** A zip of {@code config} with random weights and BN parameters and statistics far from the identity. */
    static Path randomModel(Path zip, ResNeXtConfig config, long seed, NormalizerStandardize normalizer) {
        ComputationGraph g = new ComputationGraph(ResNeXtGraphFactory.build(config));
        g.init();
        Nd4j.getRandom().setSeed(seed);
        for (Layer l : g.getLayers()) {
            if (l.conf().getLayer() instanceof BatchNormalization) {
                l.getParam("gamma").assign(Nd4j.rand(DataType.FLOAT, l.getParam("gamma").shape()).addi(0.5));
                l.getParam("beta").assign(Nd4j.rand(DataType.FLOAT, l.getParam("beta").shape()).subi(0.5));
                l.getParam("mean").assign(Nd4j.rand(DataType.FLOAT, l.getParam("mean").shape()).subi(0.5));
                l.getParam("var").assign(Nd4j.rand(DataType.FLOAT, l.getParam("var").shape()).addi(0.5));
            }
        }
        g.getLayer("head.fc").getParam("b").assign(Nd4j.rand(DataType.FLOAT, 1, config.getNumClasses()));
        Map<String, Object> provenance = Map.of("source", "test", "seed", seed);
        ModelZip.save(zip, g, ModelMetadata.create(config, ModelMetadata.indexLabels(config.getNumClasses()),
                ModelMetadata.imagePreprocessing(config), provenance, Map.of("epochs", 0)), normalizer, false);
        return zip;
    }

    static INDArray input(ResNeXtConfig c, int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.FLOAT, n, c.getInputChannels(), c.getInputHeight(), c.getInputWidth());
    }

    static Map<String, Integer> operators(Path onnx) throws Exception {
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(onnx));
        Map<String, Integer> ops = new TreeMap<>();
        m.getGraph().getNodeList().forEach(n -> ops.merge(n.getOpType(), 1, Integer::sum));
        return ops;
    }

    /** Exports, runs in ONNX Runtime and compares with DL4J on the same input. */
    static OnnxRuntimeCheck.Outputs check(Path zip, OnnxExportOptions o, String name, int batch)
            throws java.io.IOException {
        LoadedModel m = ModelZip.load(zip);
        Path onnx = dir.resolve(name + ".onnx");
        OnnxExporter.Result r = OnnxExporter.export(m, o, onnx);
        assertTrue(Files.size(onnx) == r.bytes());
        ResNeXtConfig c = m.metadata().config();
        INDArray x = input(c, batch, 5);
        INDArray expected = GraphOutputs.logits(m.graph(), o.includePreprocessing() ? standardised(m, x) : x, 8);
        OnnxRuntimeCheck.Outputs out = OnnxRuntimeCheck.run(onnx, x);
        assertClose(expected, out.logits(), TOL, name + " logits");
        INDArray probs = c.isMultiLabel() ? Transforms.sigmoid(out.logits(), true)
                : Transforms.softmax(out.logits().castTo(DataType.DOUBLE), true).castTo(DataType.FLOAT);
        assertClose(probs, out.probabilities(), 1e-5, name + " probabilities");
        return out;
    }

    static INDArray standardised(LoadedModel m, INDArray x) {
        INDArray copy = x.dup();
        m.normalizer().transform(copy);
        return copy;
    }

    @Test
    void tinyDefaultIsGroupedAndFolded() throws Exception {
        OnnxRuntimeCheck.Outputs out = check(tinyZip, OnnxExportOptions.defaults(), "tiny-default", 1);
        Map<String, Integer> ops = operators(dir.resolve("tiny-default.onnx"));
        // stem conv + 5 blocks x (conv1, grouped conv2, conv3) + 4 downsample convs
        assertEquals(1 + 5 * 3 + 4, ops.get("Conv"), ops.toString());
        assertNull(ops.get("BatchNormalization"), ops.toString());
        assertNull(ops.get("Slice"), ops.toString());
        assertNull(ops.get("Concat"), ops.toString());
        assertEquals(1, ops.get("MaxPool"));
        assertEquals(1, ops.get("Gemm"));
        assertEquals(1, ops.get("Softmax"));
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(dir.resolve("tiny-default.onnx")));
        assertEquals(8, m.getIrVersion());
        assertEquals(17, m.getOpsetImport(0).getVersion());
        long grouped = m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv"))
                .flatMap(n -> n.getAttributeList().stream())
                .filter(a -> a.getName().equals("group") && a.getI() == 8).count();
        assertEquals(5, grouped);
        Map<String, String> meta = out.metadata();
        assertEquals("[\"0\",\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]", meta.get("labels"));
        assertEquals("softmax", meta.get("head"));
        assertTrue(meta.get("provenance").contains("\"seed\":11"), meta.get("provenance"));
        assertEquals(Presets.tiny(), ResNeXtConfig.fromJson(meta.get("config")));
    }

    @Test
    void tinyBranchesAndBatchNormKeptWithDynamicBatch() throws Exception {
        check(tinyZip, new OnnxExportOptions(13, true, false, true, true), "tiny-branches", 3);
        Map<String, Integer> ops = operators(dir.resolve("tiny-branches.onnx"));
        assertEquals(5 * 8, ops.get("Slice"), ops.toString());
        assertEquals(5, ops.get("Concat"), ops.toString());
        assertEquals(1 + 5 * 3 + 4, ops.get("BatchNormalization"), ops.toString());
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(dir.resolve("tiny-branches.onnx")));
        assertEquals(7, m.getIrVersion());
        assertEquals("batch", m.getGraph().getInput(0).getType().getTensorType().getShape().getDim(0).getDimParam());
    }

    @Test
    void branchesFoldedAndGroupedBatchNormKept() throws Exception {
        check(tinyZip, new OnnxExportOptions(14, true, false, true, false), "tiny-branches-folded", 2);
        check(tinyZip, new OnnxExportOptions(16, false, false, false, true), "tiny-grouped-bn", 1);
    }

    @Test
    void smallWithAndWithoutPreprocessing() throws Exception {
        check(smallZip, OnnxExportOptions.defaults(), "small", 1);
        OnnxRuntimeCheck.Outputs out = check(smallZip, new OnnxExportOptions(15, true, true, false, false),
                "small-pre", 4);
        assertEquals(1, operators(dir.resolve("small-pre.onnx")).get("Sub"));
        assertTrue(out.metadata().get("preprocessing").contains("\"normalizationInGraph\":true"),
                out.metadata().get("preprocessing"));
    }

    @Test
    void preprocessingNeedsANormalisation() {
        LoadedModel m = ModelZip.load(tinyZip);
        Path onnx = dir.resolve("none.onnx");
        NotExportableException e = assertThrows(NotExportableException.class, () -> OnnxExporter.export(m,
                new OnnxExportOptions(17, false, true, false, false), onnx));
        assertTrue(e.getMessage().contains("no per-channel normalisation"), e.getMessage());
        assertFalse(Files.exists(onnx));
    }

    @Test
    void aZipOfAnotherNetworkIsRefused() {
        // graph of one configuration, metadata of another: the structure check must catch it
        ResNeXtConfig built = Presets.small();
        ResNeXtConfig claimed = built.toBuilder().cardinality(2).build();
        ComputationGraph g = new ComputationGraph(ResNeXtGraphFactory.build(built));
        g.init();
        Path zip = dir.resolve("other.zip");
        ModelZip.save(zip, g, ModelMetadata.create(claimed, ModelMetadata.indexLabels(10), null, null, null),
                null, false);
        LoadedModel m = ModelZip.load(zip);
        NotExportableException e = assertThrows(NotExportableException.class,
                () -> OnnxExporter.export(m, OnnxExportOptions.defaults(), dir.resolve("other.onnx")));
        assertTrue(e.getMessage().startsWith("other.zip is not a ResNeXt of this project"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertThrows(NotExportableException.class, () -> TorchvisionExporter.stateDict(m));
    }

    @Test
    void opsetOutsideTheRangeIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new OnnxExportOptions(12, false, false, false, false));
        assertThrows(IllegalArgumentException.class, () -> new OnnxExportOptions(18, false, false, false, false));
        List.of(13, 14, 15, 16, 17).forEach(o -> new OnnxExportOptions(o, false, false, false, false));
    }
}
