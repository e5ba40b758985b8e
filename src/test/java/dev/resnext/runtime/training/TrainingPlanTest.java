package dev.resnext.runtime.training;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.model.StemKind;
import dev.resnext.runtime.GraphRuntime;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compiled training step gives DL4J's own gradients, scores and updates on every small preset.
 */
class TrainingPlanTest {

    @BeforeAll
    static void backend() {
        Backends.initialize(BackendChoice.CPU);
    }

    static List<String> presets() {
        return List.of("tiny", "small", "resnext29_4x16d");
    }

    static ResNeXtConfig config(String preset) {
        ResNeXtConfig p = Presets.get(preset);
        int size = p.getStem() == StemKind.IMAGENET ? 64 : 16;
        return p.toBuilder().input(size, size, 3).numClasses(7).build();
    }

    static INDArray labels(int n, int classes, long seed) {
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, classes);
        java.util.Random r = new java.util.Random(seed);
        for (int i = 0; i < n; i++) {
            y.putScalar(i, r.nextInt(classes), 1f);
        }
        return y;
    }

    @ParameterizedTest
    @MethodSource("presets")
    void gradientsAndScoreEqualDl4jBackprop(String preset) {
        ResNeXtConfig c = config(preset);
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(c));
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, 3, c.getInputHeight(), c.getInputWidth());
        INDArray y = labels(4, 7, 5);
        double expectedScore = dl4jGradientAndScore(g, x, y);
        Map<String, INDArray> expected = byParam(g);

        try (TrainingPlan plan = TrainingPlan.compile(g)) {
            assertNotNull(plan, "the plan recognises " + preset);
            // a larger batch first: buffers made for it serve the smaller one
            plan.gradientAndScore(Nd4j.randn(DataType.FLOAT, 6, 3, c.getInputHeight(), c.getInputWidth()),
                    labels(6, 7, 9));
            g.getFlattenedGradients().assign(Float.NaN);
            double score = plan.gradientAndScore(x, y);
            assertEquals(expectedScore, score, 1e-4 * Math.max(1, Math.abs(expectedScore)));
            assertEquals(score, g.score(), 1e-12);
            Map<String, INDArray> actual = byParam(g);
            assertEquals(expected.keySet(), actual.keySet());
            assertGradientsMatch(expected, actual);
        }
    }

    /** DL4J's own backprop on {@code g}: its score; the gradients are left in the graph's gradient view. */
    private static double dl4jGradientAndScore(ComputationGraph g, INDArray x, INDArray y) {
        g.setInputs(x.dup());
        g.setLabels(y);
        g.computeGradientAndScore();
        return g.score();
    }

    private static void assertGradientsMatch(Map<String, INDArray> expected, Map<String, INDArray> actual) {
        for (Map.Entry<String, INDArray> e : expected.entrySet()) {
            // float rounding in a deep stack of batch normalisations moves single gradients by up
            // to ~0.5% (DL4J's stock graph and its runtime graph differ as much); a wrong term
            // moves them by far more
            double norm = e.getValue().norm2Number().doubleValue();
            double diff = actual.get(e.getKey()).sub(e.getValue()).norm2Number().doubleValue();
            assertTrue(diff <= 1e-2 * norm + 1e-6, e.getKey() + ": difference " + diff + " at norm " + norm);
        }
    }

    @org.junit.jupiter.api.Test
    void frozenStagesStayUnchangedAndTheRestTrainsLikeDl4j(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        ResNeXtConfig parentConfig = config("small").toBuilder().learningRate(1e-3).build();
        ComputationGraph parentGraph = GraphRuntime.create(ResNeXtGraphFactory.build(parentConfig));
        java.nio.file.Path zip = dir.resolve("parent.zip");
        dev.resnext.format.ModelZip.save(zip, parentGraph, dev.resnext.format.ModelMetadata.create(parentConfig,
                dev.resnext.format.ModelMetadata.indexLabels(7), null, null, null), null, false);
        dev.resnext.format.LoadedModel parent = dev.resnext.format.ModelZip.load(zip);
        ResNeXtConfig child = dev.resnext.transfer.FineTuning.childConfig(parentConfig, 7, false,
                c16(parentConfig), c16(parentConfig), 3).toBuilder().learningRate(1e-3).build();
        ComputationGraph ours = dev.resnext.transfer.FineTuning.prepare(parent, child,
                dev.resnext.transfer.FreezePolicy.parse("stage:1"));
        ComputationGraph theirs = ours.clone();
        List<String> frozen = dev.resnext.transfer.FineTuning.frozenLayers(ours);
        assertTrue(frozen.contains("stem.conv") && frozen.contains("stage1.block0.bn3"), frozen.toString());
        INDArray initial = ours.params().dup();
        Map<String, INDArray> frozenBefore = new java.util.TreeMap<>();
        for (String name : frozen) {
            ours.getLayer(name).paramTable().forEach((k, v) -> frozenBefore.put(name + "_" + k, v.dup()));
        }
        try (TrainingPlan plan = TrainingPlan.compile(ours)) {
            assertNotNull(plan, "the plan takes a graph with frozen leading stages");
            for (int step = 0; step < 3; step++) {
                Nd4j.getRandom().setSeed(20 + step);
                int n = step == 2 ? 3 : 5;
                INDArray x = Nd4j.randn(DataType.FLOAT, n, 3, c16(parentConfig), c16(parentConfig));
                INDArray y = labels(n, 7, step);
                theirs.fit(new DataSet(x.dup(), y.dup()));
                double score = plan.fit(x, y);
                assertEquals(theirs.score(), score, 1e-3 * Math.max(1, Math.abs(score)), "score at step " + step);
            }
        }
        for (String name : frozen) {
            ours.getLayer(name).paramTable().forEach((k, v) -> assertEquals(frozenBefore.get(name + "_" + k), v,
                    name + "." + k + " must not change"));
        }
        INDArray dOurs = ours.params().sub(initial);
        INDArray dTheirs = theirs.params().sub(initial);
        double rel = dOurs.sub(dTheirs).norm2Number().doubleValue() / dTheirs.norm2Number().doubleValue();
        assertTrue(rel <= 0.02, "the updates differ by " + rel + " of their size");
    }

    private static int c16(ResNeXtConfig c) {
        return c.getInputHeight();
    }

    @org.junit.jupiter.api.Test
    void graphsThePlanDoesNotTakeTrainOnTheGraph() {
        ResNeXtConfig c = config("small").toBuilder().multiLabel(true).build();
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(c));
        assertEquals(null, TrainingPlan.compile(g));
        assertTrue(!GraphRuntime.hasTrainingPlan(g));
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, 3, c.getInputHeight(), c.getInputWidth());
        INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 7);
        y.putScalar(0, 1, 1f);
        y.putScalar(2, 3, 1f);
        double score = GraphRuntime.fit(g, new DataSet(x, y));
        assertTrue(Double.isFinite(score) && score > 0, "score " + score);
        assertEquals(1, g.getIterationCount());
    }

    @org.junit.jupiter.api.Test
    void thePlanWritesOnlyMemoryItKeepsAlive() {
        // native memory the plan binds outlives the compiling code's locals: were any of it freed
        // after a collection, the memory allocator would hand it out again, and the next step would
        // write into these arrays of the same sizes
        ResNeXtConfig c = config("small");
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(c));
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, 3, c.getInputHeight(), c.getInputWidth());
        try (TrainingPlan plan = TrainingPlan.compile(g)) {
            plan.fit(x, labels(4, 7, 1));
            collectGarbage();
            List<INDArray> canaries = new ArrayList<>();
            for (long floats = 8; floats <= 1 << 14; floats *= 2) {
                for (int i = 0; i < 40; i++) {
                    canaries.add(Nd4j.valueArrayOf(new long[] {floats}, 7f));
                    canaries.add(Nd4j.valueArrayOf(new long[] {floats * 3 / 2}, 7f));
                }
            }
            plan.fit(x, labels(4, 7, 2));
            for (INDArray a : canaries) {
                assertEquals(7.0, a.minNumber().doubleValue(), 0.0, "an array of " + a.length() + " floats was written");
                assertEquals(7.0, a.maxNumber().doubleValue(), 0.0, "an array of " + a.length() + " floats was written");
            }
        }
    }

    @org.junit.jupiter.api.Test
    void runtimeFitUsesThePlanAndReleaseFreesIt() {
        ResNeXtConfig c = config("small");
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(c));
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, 3, c.getInputHeight(), c.getInputWidth());
        double score = GraphRuntime.fit(g, new DataSet(x, labels(4, 7, 1)));
        assertTrue(GraphRuntime.hasTrainingPlan(g));
        assertEquals(score, g.score(), 1e-12);
        assertEquals(1, g.getIterationCount());
        GraphRuntime.releaseTraining(g);
        GraphRuntime.fit(g, new DataSet(x, labels(4, 7, 2)));
        assertEquals(2, g.getIterationCount());
    }

    @org.junit.jupiter.api.Test
    void classWeightedLossEqualsDl4j() {
        ResNeXtConfig c = config("small");
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(c));
        // as the trainer sets --class-weights: on the live loss layer
        var loss = (org.deeplearning4j.nn.conf.layers.LossLayer) g.getLayer(
                dev.resnext.model.VertexNames.HEAD_LOSS).conf().getLayer();
        loss.setLossFn(new org.nd4j.linalg.lossfunctions.impl.LossMCXENT(
                Nd4j.createFromArray(new float[] {0.5f, 2f, 1f, 1f, 3f, 0.2f, 1f})));
        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.randn(DataType.FLOAT, 6, 3, c.getInputHeight(), c.getInputWidth());
        INDArray y = labels(6, 7, 7);
        double expectedScore = dl4jGradientAndScore(g, x, y);
        Map<String, INDArray> expected = byParam(g);
        try (TrainingPlan plan = TrainingPlan.compile(g)) {
            double score = plan.gradientAndScore(x, y);
            assertEquals(expectedScore, score, 1e-4 * Math.max(1, Math.abs(expectedScore)));
            assertGradientsMatch(expected, byParam(g));
        }
    }

    @ParameterizedTest
    @MethodSource("presets")
    void stepsEqualGraphFit(String preset) {
        // a small learning rate: at a large one a few steps on random data are chaotic, and float
        // rounding alone grows into visible differences
        ResNeXtConfig c = config(preset).toBuilder().learningRate(1e-3).build();
        ComputationGraph ours = GraphRuntime.create(ResNeXtGraphFactory.build(c));
        INDArray initial = ours.params().dup();
        // the reference: DL4J's stock graph, every runtime lever off
        ComputationGraph theirs;
        try (var o = dev.resnext.RuntimeSettings.override(dev.resnext.RuntimeSettings.defaults().allLeversOff())) {
            theirs = new ComputationGraph(GraphRuntime.stockConfiguration(ours));
            theirs.init(ours.params().dup(), false);
            theirs.initGradientsView();
        }
        try (TrainingPlan plan = TrainingPlan.compile(ours)) {
            for (int step = 0; step < 3; step++) {
                Nd4j.getRandom().setSeed(10 + step);
                // the last step is a smaller batch, as at the end of an epoch
                int n = step == 2 ? 3 : 5;
                INDArray x = Nd4j.randn(DataType.FLOAT, n, 3, c.getInputHeight(), c.getInputWidth());
                INDArray y = labels(n, 7, step);
                theirs.fit(new DataSet(x.dup(), y.dup()));
                double score = plan.fit(x, y);
                assertEquals(theirs.score(), score, 1e-3 * Math.max(1, Math.abs(score)), "score at step " + step);
                assertEquals(score, ours.score(), 1e-12);
                // native memory the plan binds must stay alive without the compiling code's locals:
                // collected arrays are freed by ND4J's deallocator thread
                collectGarbage();
            }
            assertEquals(theirs.getIterationCount(), ours.getIterationCount());
            Map<String, INDArray> po = paramsByName(ours);
            Map<String, INDArray> pt = paramsByName(theirs);
            INDArray dOurs = ours.params().sub(initial);
            INDArray dTheirs = theirs.params().sub(initial);
            double rel = dOurs.sub(dTheirs).norm2Number().doubleValue() / dTheirs.norm2Number().doubleValue();
            assertTrue(rel <= 0.02, "the three updates differ by " + rel + " of their size");
            for (String k : pt.keySet()) {
                double eps = 2e-2 * Math.max(1, pt.get(k).amaxNumber().doubleValue());
                assertTrue(po.get(k).equalsWithEps(pt.get(k), eps), k + " differs by "
                        + po.get(k).sub(pt.get(k)).amaxNumber() + " at scale " + pt.get(k).amaxNumber());
            }
        }
    }

    private static void collectGarbage() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static Map<String, INDArray> paramsByName(ComputationGraph g) {
        Map<String, INDArray> m = new java.util.TreeMap<>();
        for (Layer l : g.getLayers()) {
            for (Map.Entry<String, INDArray> e : l.paramTable().entrySet()) {
                m.put(l.conf().getLayer().getLayerName() + "_" + e.getKey(), e.getValue());
            }
        }
        return m;
    }

    /** Copies of every layer's gradients by "layer_param", from the graph's gradient view. */
    private static Map<String, INDArray> byParam(ComputationGraph g) {
        Map<String, INDArray> m = new java.util.TreeMap<>();
        for (Layer l : g.getLayers()) {
            if (l.numParams() == 0) {
                continue;
            }
            for (Map.Entry<String, INDArray> e : l.conf().getLayer().initializer()
                    .getGradientsFromFlattened(l.conf(), l.getGradientsViewArray()).entrySet()) {
                m.put(l.conf().getLayer().getLayerName() + "_" + e.getKey(), e.getValue().dup());
            }
        }
        return m;
    }
}
