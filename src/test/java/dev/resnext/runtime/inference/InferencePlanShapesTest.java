package dev.resnext.runtime.inference;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.model.VertexNames;
import dev.resnext.runtime.GraphRuntime;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A server runs every batch size up to its limit, in any order: the plan keeps a bounded number of
 * shapes compiled (least recently used goes first), shares the weights between them, and every
 * shape, old or recompiled, gives the graph's outputs.
 */
class InferencePlanShapesTest {
    @Test
    void manyBatchSizesInAnyOrderStayCorrectWithABoundedCache() {
        Backends.initialize(BackendChoice.CPU);
        ResNeXtConfig c = Presets.small().toBuilder().input(16, 16, 3).numClasses(5).build();
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(c));
        Nd4j.getRandom().setSeed(11);
        INDArray x = Nd4j.randn(DataType.FLOAT, 12, 3, 16, 16);
        INDArray expected = g.output(List.of(VertexNames.HEAD_FC), false, new INDArray[] {x.dup()}, null)[0];
        try (InferencePlan plan = InferencePlan.compile(g)) {
            assertNotNull(plan);
            int[] sizes = {1, 12, 3, 7, 2, 9, 5, 11, 4, 1, 12, 6, 8, 10, 3, 7};
            for (int n : sizes) {
                INDArray part = x.get(NDArrayIndex.interval(0, n)).dup();
                INDArray got = plan.logits(part);
                INDArray want = expected.get(NDArrayIndex.interval(0, n));
                double diff = want.sub(got).amaxNumber().doubleValue();
                assertTrue(diff < 1e-4, "batch " + n + ": max difference " + diff);
                assertTrue(plan.compiledShapes() <= 8, "compiled shapes " + plan.compiledShapes());
            }
        }
    }
}
