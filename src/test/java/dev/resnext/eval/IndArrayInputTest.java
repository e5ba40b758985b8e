package dev.resnext.eval;

import dev.resnext.ResNeXtException;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The INDArray entry points give the same result as the double[][] ones. */
class IndArrayInputTest {

    private static final double EPS = 1e-6; // float32 arrays

    private static final double[][] PROBABILITIES = {
            {0.7, 0.2, 0.1}, {0.2, 0.5, 0.3}, {0.1, 0.3, 0.6}, {0.4, 0.4, 0.2},
            {0.3, 0.3, 0.4}, {0.5, 0.1, 0.4}, {0.2, 0.6, 0.2}, {0.1, 0.2, 0.7}};
    private static final int[] LABELS = {0, 1, 2, 1, 0, 2, 1, 2};

    @Test
    void oneHotAndIndexLabelsMatchTheArrayForm() {
        ClassificationMetrics expected = ClassificationMetrics.compute(PROBABILITIES, LABELS, null);
        INDArray probabilities = Nd4j.createFromArray(PROBABILITIES).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT);
        INDArray oneHot = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, LABELS.length, 3);
        for (int i = 0; i < LABELS.length; i++) {
            oneHot.putScalar(i, LABELS[i], 1.0);
        }
        ClassificationMetrics fromOneHot = ClassificationMetrics.compute(probabilities, oneHot, List.of("0", "1", "2"));
        ClassificationMetrics fromIndices = ClassificationMetrics.compute(probabilities, Nd4j.createFromArray(LABELS),
                null);
        ClassificationMetrics fromIntLabels = ClassificationMetrics.compute(probabilities, LABELS, null);
        for (ClassificationMetrics m : List.of(fromOneHot, fromIndices, fromIntLabels)) {
            assertEquals(expected.accuracy(), m.accuracy(), EPS);
            assertEquals(expected.auc(), m.auc(), EPS);
            assertArrayEquals(expected.confusionMatrix(), m.confusionMatrix());
        }
        assertThrows(ResNeXtException.class,
                () -> ClassificationMetrics.compute(probabilities, Nd4j.zeros(LABELS.length, 4), null));
    }

    @Test
    void multiLabelTargetsAsArray() {
        int[][] targets = {{1, 0, 0}, {0, 1, 1}, {0, 0, 1}, {1, 1, 0}, {0, 0, 0}, {1, 0, 1}, {0, 1, 0}, {0, 0, 1}};
        MultiLabelMetrics expected = MultiLabelMetrics.compute(PROBABILITIES, targets, null);
        MultiLabelMetrics actual = MultiLabelMetrics.compute(Nd4j.createFromArray(PROBABILITIES),
                Nd4j.createFromArray(targets).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT), null);
        assertEquals(expected.auc(), actual.auc(), EPS);
        assertEquals(expected.accuracy(), actual.accuracy(), EPS);
    }
}
