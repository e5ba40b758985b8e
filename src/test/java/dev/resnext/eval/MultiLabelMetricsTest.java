package dev.resnext.eval;

import dev.resnext.ResNeXtException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MultiLabelMetricsTest {

    private static final double EPS = 1e-12;

    private static final double[][] PROBABILITIES = {
            {0.9, 0.1, 0.6}, {0.2, 0.8, 0.4}, {0.7, 0.3, 0.5}, {0.4, 0.6, 0.5}, {0.6, 0.7, 0.3}, {0.3, 0.2, 0.7}};
    private static final int[][] TARGETS = {{1, 0, 1}, {0, 1, 0}, {1, 0, 0}, {0, 0, 1}, {0, 1, 0}, {1, 0, 0}};

    @Test
    void meanOfPerLabelAucAndAccuracyAsMedMnist() {
        MultiLabelMetrics m = MultiLabelMetrics.compute(PROBABILITIES, TARGETS, List.of("effusion", "mass", "nodule"));
        // per-label AUC counted over (positive, negative) pairs: 7/9, 8/8, 5.5/8
        assertEquals(7.0 / 9, m.perLabel().get(0).auc(), EPS);
        assertEquals(1.0, m.perLabel().get(1).auc(), EPS);
        assertEquals(5.5 / 8, m.perLabel().get(2).auc(), EPS);
        assertEquals((7.0 / 9 + 1.0 + 5.5 / 8) / 3, m.auc(), EPS);
        // score > 0.5: label 0 right on 4 of 6, label 1 on 5 of 6, label 2 on 4 of 6 (0.5 is not > 0.5)
        assertEquals(4.0 / 6, m.perLabel().get(0).accuracy(), EPS);
        assertEquals(5.0 / 6, m.perLabel().get(1).accuracy(), EPS);
        assertEquals(4.0 / 6, m.perLabel().get(2).accuracy(), EPS);
        assertEquals(13.0 / 18, m.accuracy(), EPS);
        assertEquals(0.5, m.subsetAccuracy(), EPS);
        MultiLabelMetrics.LabelMetrics effusion = m.perLabel().get(0);
        assertEquals(3, effusion.positives());
        assertEquals(2.0 / 3, effusion.sensitivity(), EPS);
        assertEquals(2.0 / 3, effusion.specificity(), EPS);
        assertEquals(2.0 / 3, effusion.precision(), EPS);
    }

    @Test
    void labelWithoutPositivesIsLeftOutOfTheMeanAuc() {
        double[][] p = {{0.9, 0.2}, {0.1, 0.3}, {0.8, 0.1}};
        int[][] t = {{1, 0}, {0, 0}, {1, 0}};
        MultiLabelMetrics m = MultiLabelMetrics.compute(p, t, null);
        assertTrue(Double.isNaN(m.perLabel().get(1).auc()));
        assertEquals(1.0, m.auc(), EPS);
        assertEquals(1.0, m.accuracy(), EPS);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> perLabel = (List<Map<String, Object>>) m.toMap().get("perLabel");
        assertNull(perLabel.get(1).get("auc"));
        assertNull(perLabel.get(1).get("sensitivity"));
    }

    @Test
    void mapAndText() {
        MultiLabelMetrics m = MultiLabelMetrics.compute(PROBABILITIES, TARGETS, List.of("effusion", "mass", "nodule"));
        Map<String, Object> map = m.toMap();
        assertEquals(List.of("n", "labels", "task", "threshold", "auc", "accuracy", "subsetAccuracy", "perLabel"),
                List.copyOf(map.keySet()));
        assertEquals(6, map.get("n"));
        String text = m.toText();
        assertTrue(text.contains("nodule"), text);
        assertTrue(text.contains("0.7222"), text);
    }

    @Test
    void rejectsTargetsThatAreNotZeroOrOne() {
        assertThrows(ResNeXtException.class,
                () -> MultiLabelMetrics.compute(new double[][]{{0.2, 0.4}}, new int[][]{{2, 0}}, null));
        assertThrows(ResNeXtException.class,
                () -> MultiLabelMetrics.compute(new double[][]{{0.2, 0.4}}, new int[][]{{1}}, null));
    }
}
