package dev.resnext.runtime;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.model.StemKind;
import dev.resnext.model.VertexNames;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compiled inference plan (folded batch norm, fused post-ops, grouped convolutions, blocked
 * layouts) gives the graph's own inference outputs on every preset.
 */
class InferencePlanTest {

    @BeforeAll
    static void backend() {
        Backends.initialize(BackendChoice.CPU);
    }

    /** The presets that build in about a second; the others run with -Pslow ({@link #largePresets}). */
    static List<String> presets() {
        return List.of("tiny", "small", "resnext29_4x16d");
    }

    static List<String> largePresets() {
        return Presets.names().stream().filter(n -> !presets().contains(n)).toList();
    }

    @org.junit.jupiter.api.Tag("slow")
    @ParameterizedTest
    @MethodSource("largePresets")
    void planGivesTheGraphsOutputsOnLargePresets(String preset) {
        planGivesTheGraphsOutputsOnEveryPreset(preset);
    }

    /** The preset at a small input, with batch-norm statistics that are not the identity. */
    static ComputationGraph graph(ResNeXtConfig c, long seed) {
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(c));
        Nd4j.getRandom().setSeed(seed);
        for (var v : g.getVertices()) {
            if (v.hasLayer() && v.getLayer() instanceof org.deeplearning4j.nn.layers.normalization.BatchNormalization bn) {
                bn.getParam("gamma").assign(Nd4j.rand(DataType.FLOAT, bn.getParam("gamma").shape()).addi(0.5));
                bn.getParam("beta").assign(Nd4j.randn(DataType.FLOAT, bn.getParam("beta").shape()).muli(0.1));
                bn.getParam("mean").assign(Nd4j.randn(DataType.FLOAT, bn.getParam("mean").shape()).muli(0.1));
                bn.getParam("var").assign(Nd4j.rand(DataType.FLOAT, bn.getParam("var").shape()).addi(0.5));
            }
        }
        return g;
    }

    static ResNeXtConfig small(String preset) {
        ResNeXtConfig p = Presets.get(preset);
        int size = p.getStem() == StemKind.IMAGENET ? 64 : 16;
        return p.toBuilder().input(size, size, 3).numClasses(7).build();
    }

    @ParameterizedTest
    @MethodSource("presets")
    void planGivesTheGraphsOutputsOnEveryPreset(String preset) {
        ResNeXtConfig c = small(preset);
        ComputationGraph g = graph(c, 3);
        INDArray x = Nd4j.randn(DataType.FLOAT, 3, 3, c.getInputHeight(), c.getInputWidth());
        INDArray expectedLogits = g.output(List.of(VertexNames.HEAD_FC), false, new INDArray[] {x.dup()}, null)[0];
        INDArray expectedOut = g.output(false, x.dup())[0];
        assertTrue(!GraphRuntime.hasInferencePlan(g), "a training graph runs itself");
        assertTrue(GraphRuntime.prepare(g, GraphRuntime.Mode.INFERENCE) == g);
        assertTrue(GraphRuntime.hasInferencePlan(g), preset + ": the plan should compile");
        assertClose(expectedLogits, GraphRuntime.logits(g, x.dup()), preset + " logits");
        assertClose(expectedOut, GraphRuntime.output(g, x.dup()), preset + " probabilities");
        // a second call (steady path) and another batch size
        assertClose(expectedLogits, GraphRuntime.logits(g, x.dup()), preset + " logits, second call");
        INDArray one = x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 2)).dup();
        assertClose(expectedLogits.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 2)),
                GraphRuntime.logits(g, one), preset + " logits, batch 1");
    }

    @Test
    void releaseFreesThePlanAndTheGraphRunsItself() {
        ResNeXtConfig c = small("small");
        ComputationGraph g = graph(c, 7);
        GraphRuntime.prepare(g, GraphRuntime.Mode.INFERENCE);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 3, c.getInputHeight(), c.getInputWidth());
        INDArray planned = GraphRuntime.output(g, x.dup());
        assertTrue(GraphRuntime.hasInferencePlan(g));
        GraphRuntime.release(g);
        assertTrue(!GraphRuntime.hasInferencePlan(g), "released");
        assertClose(planned, GraphRuntime.output(g, x.dup()), "after release");
    }

    @Test
    void planFollowsTheGraphWhenItTrains() {
        ResNeXtConfig c = small("small");
        ComputationGraph g = graph(c, 5);
        GraphRuntime.prepare(g, GraphRuntime.Mode.INFERENCE);
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, 3, c.getInputHeight(), c.getInputWidth());
        GraphRuntime.output(g, x.dup());
        INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 7);
        for (int i = 0; i < 4; i++) {
            y.putScalar(i, i, 1);
        }
        g.fit(new DataSet(x.dup(), y));
        assertClose(g.output(false, x.dup())[0], GraphRuntime.output(g, x.dup()), "after a training step");
    }

    static void assertClose(INDArray expected, INDArray actual, String what) {
        assertEquals(expected.length(), actual.length(), what);
        double scale = Math.max(1.0, expected.amaxNumber().doubleValue());
        double diff = expected.castTo(DataType.FLOAT).sub(actual.castTo(DataType.FLOAT)).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-4 * scale, what + ": max difference " + diff + " at scale " + scale);
    }
}
