package dev.resnext.runtime;

import dev.resnext.RuntimeSettings;
import dev.resnext.model.*;
import dev.resnext.runtime.layers.*;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.backend.OneDnnBatchNormHelper;
import dev.resnext.backend.OneDnnGroupedConvolution;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused grouped convolution and the shared split gradient ({@link GroupedBlock}) must give the
 * same outputs, gradients and training steps as the plain per-branch graph.
 */
class GroupedBlockTest {

    @BeforeAll
    static void backend() {
        Backends.initialize(BackendChoice.CPU);
    }

    private static ResNeXtConfig config(ResNeXtConfig.Precision p) {
        // two blocks per stage so that blocks share buffers; stride-2 blocks and a projection shortcut
        return Presets.small().toBuilder().dataType(p).stageDepths(2, 1, 1).input(12, 12, 3).numClasses(3)
                .optimizer(OptimizerKind.SGD).learningRate(0.05).weightDecay(1e-4).build();
    }

    private static DataSet data(DataType dt, int n, int seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.randn(dt, n, 3, 12, 12);
        INDArray y = Nd4j.zeros(dt, n, 3);
        for (int i = 0; i < n; i++) {
            y.putScalar(i, i % 3, 1);
        }
        return new DataSet(x, y);
    }

    /**
     * A graph whose blocks attach with the given switches (read when a block first runs); "fused"
     * also selects the oneDNN batch normalisation and convolutions and the in-place ReLU (read when
     * the graph is built); "not fused" is DL4J's own behaviour throughout.
     */
    private static ComputationGraph graph(ResNeXtConfig c, boolean fused, boolean shared, INDArray warmInput) {
        RuntimeSettings d = RuntimeSettings.defaults();
        RuntimeSettings settings = new RuntimeSettings(d.oneDnn(), fused, fused, d.oneDnnRelu(), false, fused, shared,
                fused, d.fastWorkspaceLearning(), d.workspaceLearningCycles(), 0, d.inferencePlan(),
                d.npzInMemoryBytes(), d.imageCacheBytes(), d.cacheDir(), d.cpuReplicas(), d.plainPointwise(), false);
        try (RuntimeSettings.Override o = RuntimeSettings.override(settings)) {
            ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(c));
            g.output(false, warmInput);   // attaches the blocks under these switches
            return g;
        }
    }

    private static boolean anyFused(ComputationGraph g) {
        for (GraphVertex v : g.getVertices()) {
            if (v instanceof ChannelSplitVertexImpl s && s.isFused()) {
                return true;
            }
        }
        return false;
    }

    private static void assertClose(INDArray expected, INDArray actual, double tol, String what) {
        assertEquals(expected.length(), actual.length(), what);
        double scale = Math.max(1e-3, expected.amaxNumber().doubleValue());
        double diff = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(diff <= tol * scale, what + ": max abs difference " + diff + " at scale " + scale);
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void fusedGroupsMatchPlainBranchesForwardBackwardAndTraining(boolean sharedGradient) {
        assertTrue(OneDnnGroupedConvolution.available(), "oneDNN (JavaCPP dnnl) did not load");
        ResNeXtConfig c = config(ResNeXtConfig.Precision.FLOAT);
        DataSet d = data(DataType.FLOAT, 4, 1);
        ComputationGraph plain = graph(c, false, false, d.getFeatures());
        ComputationGraph fused = graph(c, true, sharedGradient, d.getFeatures());
        assertFalse(anyFused(plain));
        assertTrue(anyFused(fused), "no block runs fused");
        assertTrue(fused.getLayer("stage1.block0.bn1").getHelper() instanceof OneDnnBatchNormHelper);
        assertFalse(plain.getLayer("stage1.block0.bn1").getHelper() instanceof OneDnnBatchNormHelper);
        fused.setParams(plain.params().dup());

        // inference (layer-by-layer workspaces), training-mode forward, detached feed-forward
        assertClose(plain.outputSingle(false, d.getFeatures()), fused.outputSingle(false, d.getFeatures()), 1e-5, "output");
        assertClose(plain.outputSingle(true, d.getFeatures()), fused.outputSingle(true, d.getFeatures()), 1e-5, "train output");
        Map<String, INDArray> a = plain.feedForward(d.getFeatures(), false);
        Map<String, INDArray> b = fused.feedForward(d.getFeatures(), false);
        for (String k : a.keySet()) {
            assertClose(a.get(k), b.get(k), 1e-5, "activation " + k);
        }

        // gradients of one step
        plain.setInputs(d.getFeatures());
        plain.setLabels(d.getLabels());
        plain.computeGradientAndScore();
        fused.setInputs(d.getFeatures());
        fused.setLabels(d.getLabels());
        fused.computeGradientAndScore();
        assertEquals(plain.score(), fused.score(), 1e-5 * Math.abs(plain.score()));
        StringBuilder bad = new StringBuilder();
        for (String name : new java.util.TreeSet<>(plain.gradient().gradientForVariable().keySet())) {
            INDArray e = plain.gradient().gradientForVariable().get(name);
            INDArray f = fused.gradient().gradientForVariable().get(name);
            double scale = Math.max(1e-3, e.amaxNumber().doubleValue());
            double diff = e.sub(f).amaxNumber().doubleValue();
            if (diff > 1e-4 * scale) {
                bad.append(String.format(java.util.Locale.ROOT, "%n  %s: diff %.3g at scale %.3g", name, diff, scale));
            }
        }
        assertTrue(bad.length() == 0, "gradients differ:" + bad);

        // a few training steps with different batches (and batch sizes: buffers are resized)
        for (int i = 0; i < 3; i++) {
            DataSet di = data(DataType.FLOAT, 2 + 2 * i, 10 + i);
            plain.fit(di);
            fused.fit(di);
        }
        assertClose(plain.params(), fused.params(), 1e-4, "parameters after 3 steps");
        assertClose(plain.outputSingle(false, d.getFeatures()), fused.outputSingle(false, d.getFeatures()), 1e-4,
                "output after training");
    }

    @Test
    void sharedSplitGradientMatchesPerBranchGradients() {
        ResNeXtConfig c = config(ResNeXtConfig.Precision.DOUBLE);
        DataSet d = data(DataType.DOUBLE, 3, 2);
        ComputationGraph plain = graph(c, false, false, d.getFeatures());
        ComputationGraph shared = graph(c, false, true, d.getFeatures());
        shared.setParams(plain.params().dup());
        plain.setInputs(d.getFeatures());
        plain.setLabels(d.getLabels());
        plain.computeGradientAndScore();
        shared.setInputs(d.getFeatures());
        shared.setLabels(d.getLabels());
        shared.computeGradientAndScore();
        assertEquals(0, plain.gradient().gradient().sub(shared.gradient().gradient()).amaxNumber().doubleValue(), 1e-12);
    }

    @Test
    void gradientCheckPassesInDoublePrecision() {
        // double precision: oneDNN is float-only, so the branches run one by one with the shared split gradient
        // (DL4J checks every parameter of a graph, so the network is kept to about a thousand)
        ResNeXtConfig c = Presets.small().toBuilder().dataType(ResNeXtConfig.Precision.DOUBLE).stageDepths(1)
                .stagePlanes(8).stemWidth(4).cardinality(4).baseWidth(16).input(6, 6, 3).numClasses(3)
                .optimizer(OptimizerKind.SGD).learningRate(1.0).weightDecay(0).build();
        DataSet d = data(DataType.DOUBLE, 2, 3);
        d = new DataSet(d.getFeatures().get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 6),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 6)).dup(), d.getLabels());
        String helpers = System.getProperty(Backends.HELPERS_DISABLE_PROPERTY);
        DataType defaultType = Nd4j.dataType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        ComputationGraph g = graph(c, true, true, d.getFeatures());
        assertTrue(g.numParams() < 1500, "gradient check network too big: " + g.numParams());
        // Central differences on trainable parameters (up to 6 spread over each array), addressed by name through the parameter
        // table's views. (DL4J's GradientCheckUtil maps flat indices to names in paramTable order,
        // which is not the flattened order of this graph, so it cannot skip the BN running
        // statistics, which backprop updates but which are not gradients.)
        g.setInputs(d.getFeatures());
        g.setLabels(d.getLabels());
        g.computeGradientAndScore();
        Map<String, INDArray> analytic = new java.util.HashMap<>();
        g.gradient().gradientForVariable().forEach((k, v) -> analytic.put(k, v.dup()));
        double eps = 1e-6;
        int checked = 0;
        StringBuilder failures = new StringBuilder();
        for (Map.Entry<String, INDArray> e : g.paramTable().entrySet()) {
            if (e.getKey().endsWith("_mean") || e.getKey().endsWith("_var")) {
                continue;
            }
            INDArray p = e.getValue();
            // DL4J's gradient is summed over the minibatch, the score averaged
            INDArray grad = analytic.get(e.getKey()).div(d.numExamples());   // same shape and order as p
            long step = Math.max(1, p.length() / 6);
            for (long i = 0; i < p.length(); i += step) {
                // explicit subscripts: linear indices of f-ordered arrays (dense weights) are ambiguous
                long[] at = org.nd4j.linalg.api.shape.Shape.ind2subC(p.shape(), i);
                double orig = p.getDouble(at);
                p.putScalar(at, orig + eps);
                double plus = g.score(d, true);
                p.putScalar(at, orig - eps);
                double minus = g.score(d, true);
                p.putScalar(at, orig);
                double numeric = (plus - minus) / (2 * eps);
                double a = grad.getDouble(at);
                double rel = Math.abs(a - numeric) / Math.max(Math.abs(a) + Math.abs(numeric), 1e-12);
                if (rel > 1e-3 && Math.abs(a - numeric) > 1e-8) {
                    failures.append(String.format(java.util.Locale.ROOT, "%n  %s[%d]: analytic %.6g numeric %.6g",
                            e.getKey(), i, a, numeric));
                }
                checked++;
            }
        }
        Nd4j.setDefaultDataTypes(defaultType, defaultType);
        assertTrue(checked > 100, "checked only " + checked);
        assertTrue(failures.length() == 0, "gradient check failed (helpers property " + helpers + "):" + failures);
    }
}
