package dev.resnext.model;

import dev.resnext.runtime.GraphRuntime;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class ResNeXtGraphFactoryTest {

    @BeforeAll
    static void cpu() {
        Backends.initialize(BackendChoice.CPU);
    }

    @Test
    void tinyForwardGivesTheDocumentedShapes() {
        // torchvision reference (conventions.txt): tiny @64 -> maxpool [16,16,16], layer1 [64,16,16],
        // layer2 [128,8,8], layer3 [256,4,4], layer4 [512,2,2]
        ResNeXtConfig c = Presets.tiny();
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(c));
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 64, 64);
        Map<String, INDArray> acts = g.feedForward(x, false);
        assertArrayEquals(new long[] {2, 16, 16, 16}, acts.get(VertexNames.STEM_POOL).shape());
        assertArrayEquals(new long[] {2, 64, 16, 16}, acts.get(VertexNames.stageOutput(c, 1)).shape());
        assertArrayEquals(new long[] {2, 128, 8, 8}, acts.get(VertexNames.stageOutput(c, 2)).shape());
        assertArrayEquals(new long[] {2, 256, 4, 4}, acts.get(VertexNames.stageOutput(c, 3)).shape());
        assertArrayEquals(new long[] {2, 512, 2, 2}, acts.get(VertexNames.stageOutput(c, 4)).shape());
        assertArrayEquals(new long[] {2, 10}, acts.get(VertexNames.HEAD_FC).shape());
        INDArray probs = g.outputSingle(x);
        assertArrayEquals(new long[] {2, 10}, probs.shape());
        assertEquals(2.0, probs.sumNumber().doubleValue(), 1e-4, "softmax rows sum to one");
    }

    @Test
    void staticShapesMatchTheForwardPass() {
        ModelSummary s = ModelSummary.of(Presets.resnext50_32x4d());
        assertEquals(java.util.List.of(64L, 56L, 56L), s.stageShapes().get("stem.pool"));
        assertEquals(java.util.List.of(2048L, 7L, 7L), s.stageShapes().get("stage4.block2.out"));
        ModelSummary cifar = ModelSummary.of(Presets.resnext29_8x64d());
        assertEquals(java.util.List.of(1024L, 8L, 8L), cifar.stageShapes().get("stage3.block2.out"));
    }

    @Test
    void vertexNamesAreHierarchicalAndDeterministic() {
        ComputationGraphConfiguration a = ResNeXtGraphFactory.build(Presets.resnext50_32x4d());
        ComputationGraphConfiguration b = ResNeXtGraphFactory.build(Presets.resnext50_32x4d());
        assertEquals(a.getVertices().keySet(), b.getVertices().keySet());
        Set<String> names = a.getVertices().keySet();
        for (String n : new String[] {"stem.conv", "stem.bn", "stem.relu", "stem.pool",
                "stage2.block0.group07.split", "stage2.block0.group07.conv3x3", "stage2.block0.merge",
                "stage2.block0.downsample.conv", "stage2.block0.downsample.bn", "stage1.block0.downsample.conv",
                "stage4.block2.out", "head.pool", "head.fc", "head.loss"}) {
            assertTrue(names.contains(n), n);
        }
        assertFalse(names.contains("stage2.block1.downsample.conv"), "identity shortcut inside a stage");
        var v = (org.deeplearning4j.nn.conf.graph.SubsetVertex) a.getVertices().get("stage2.block0.group07.split");
        assertEquals(7 * 8, v.getFrom());
        assertEquals(7 * 8 + 7, v.getTo());
        assertTrue(ResNeXtGraphFactory.build(Presets.resnext101_64x4d()).getVertices()
                .containsKey("stage3.block22.group63.conv3x3"));
    }

    @Test
    void weightDecayIsAppliedOnce() {
        ComputationGraphConfiguration conf = ResNeXtGraphFactory.build(Presets.tiny());
        var layer = (org.deeplearning4j.nn.conf.layers.BaseLayer)
                ((org.deeplearning4j.nn.conf.graph.LayerVertex) conf.getVertices().get("stem.conv")).getLayerConf().getLayer();
        assertEquals(1, layer.getRegularization().size(), layer.getRegularization().toString());
    }

    @Test
    void configurationJsonRoundTripIsExact() {
        // DL4J decides BN's useLogStd on reading from the variables recorded at initialisation, so
        // the round trip is exact for the configuration of an initialised network (as in a zip)
        ComputationGraphConfiguration conf = GraphRuntime.stockConfiguration(
                GraphRuntime.create(ResNeXtGraphFactory.build(Presets.tiny())));
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
        assertEquals(conf, back);
        assertEquals(conf.toJson(), back.toJson());
    }

    @Test
    void sameSeedGivesSameWeights() {
        INDArray a = GraphRuntime.create(ResNeXtGraphFactory.build(Presets.small())).params();
        INDArray b = GraphRuntime.create(ResNeXtGraphFactory.build(Presets.small())).params();
        assertEquals(a, b);
        INDArray c = GraphRuntime.create(ResNeXtGraphFactory.build(Presets.small().toBuilder().seed(7).build())).params();
        assertNotEquals(a, c);
    }

    @Test
    void convolutionsFollowTorchvisionInit() {
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(Presets.resnext29_4x16d()));
        // kaiming normal, fan_out of the whole grouped conv: std = sqrt(2 / (width * 9)), width = 64
        INDArray w = g.getLayer("stage1.block0.group00.conv3x3").getParam("W");
        double std = Nd4j.concat(0, g.getLayer("stage1.block0.group00.conv3x3").getParam("W").reshape(-1),
                g.getLayer("stage1.block0.group01.conv3x3").getParam("W").reshape(-1),
                g.getLayer("stage1.block0.group02.conv3x3").getParam("W").reshape(-1),
                g.getLayer("stage1.block0.group03.conv3x3").getParam("W").reshape(-1)).stdNumber().doubleValue();
        assertEquals(Math.sqrt(2.0 / (64 * 9)), std, 0.1 * Math.sqrt(2.0 / (64 * 9)));
        assertArrayEquals(new long[] {16, 16, 3, 3}, w.shape());
        assertNull(g.getLayer("stage1.block0.conv1").getParam("b"), "convolutions have no bias");
        assertEquals(1.0, g.getLayer("stage1.block0.bn3").getParam("gamma").meanNumber().doubleValue(), 0);
    }

    @Test
    void gradientCheckPassesInDoublePrecision() {
        ResNeXtConfig c = ResNeXtConfig.builder().name("gradcheck").stem(StemKind.CIFAR).stemWidth(4)
                .stageDepths(1, 1).stagePlanes(4, 8).cardinality(2).baseWidth(32).input(6, 6, 2).numClasses(3)
                .dataType(ResNeXtConfig.Precision.DOUBLE).optimizer(OptimizerKind.SGD).learningRate(1.0)
                .weightDecay(0).seed(12345).build();
        DataType oldDefault = Nd4j.dataType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            checkGradients(c);
        } finally {
            Nd4j.setDefaultDataTypes(oldDefault, oldDefault);
        }
    }

    /**
     * Central-difference check of every trainable parameter tensor (a sample of its elements) in
     * training mode. DL4J's GradientCheckUtil mislabels parameters of graphs whose vertex order
     * differs from the parameter order, and BN running statistics use gradient slots for their
     * updates, so the check is done here by parameter name.
     */
    private static void checkGradients(ResNeXtConfig c) {
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(c));
        Nd4j.getRandom().setSeed(12345);
        INDArray x = Nd4j.rand(DataType.DOUBLE, 3, 2, 6, 6).subi(0.5);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, 3, 3);
        for (int i = 0; i < 3; i++) y.putScalar(i, i % 3, 1.0);
        org.nd4j.linalg.dataset.DataSet ds = new org.nd4j.linalg.dataset.DataSet(x, y);
        g.setInput(0, x);
        g.setLabel(0, y);
        g.computeGradientAndScore();
        Map<String, INDArray> grads = new java.util.LinkedHashMap<>();
        g.gradient().gradientForVariable().forEach((k, v) -> grads.put(k, v.dup()));
        double eps = 1e-6;
        int checked = 0;
        java.util.List<String> failures = new java.util.ArrayList<>();
        for (Map.Entry<String, INDArray> e : grads.entrySet()) {
            String key = e.getKey();
            if (key.endsWith("_mean") || key.endsWith("_var")) {
                continue; // running statistics, not trained by gradient
            }
            INDArray p = g.getParam(key);
            // gradients are summed over the minibatch until the updater divides them; the score is a mean
            INDArray flatGrad = e.getValue().reshape(p.ordering(), new long[] {p.length()}).div(x.size(0));
            long n = p.length();
            for (long i = 0; i < n; i += Math.max(1, n / 3)) {
                INDArray flat = p.reshape(p.ordering(), new long[] {p.length()}); // a view of the parameters
                double orig = flat.getDouble(i);
                flat.putScalar(i, orig + eps);
                double plus = g.score(ds, true);
                flat.putScalar(i, orig - eps);
                double minus = g.score(ds, true);
                flat.putScalar(i, orig);
                double numeric = (plus - minus) / (2 * eps);
                double analytic = flatGrad.getDouble(i);
                double abs = Math.abs(numeric - analytic);
                double rel = abs / Math.max(1e-12, Math.abs(numeric) + Math.abs(analytic));
                if (rel > 1e-3 && abs > 1e-8) {
                    failures.add(key + "[" + i + "]: analytic " + analytic + ", numeric " + numeric);
                }
                checked++;
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " gradient mismatches, first: "
                + failures.subList(0, Math.min(5, failures.size())));
        assertTrue(checked > 80, "checked " + checked + " parameter elements");
        assertTrue(grads.keySet().stream().anyMatch(k -> k.contains("group01.conv3x3")), grads.keySet().toString());
    }
}
