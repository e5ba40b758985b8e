package dev.resnext.eval;

import dev.resnext.ResNeXtException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClassificationMetricsTest {

    private static final double EPS = 1e-12;

    /** Class-1 probabilities of a binary toy set; expected values counted by hand (see comments). */
    private static final double[] BINARY_SCORES = {0.1, 0.3, 0.35, 0.5, 0.6, 0.8, 0.2, 0.7, 0.9, 0.45};
    private static final int[] BINARY_LABELS = {0, 0, 1, 0, 1, 1, 0, 0, 1, 1};

    /** A 3-class toy set; row 3 ties classes 0 and 1 (arg-max takes the first, like numpy). */
    private static final double[][] THREE_CLASS = {
            {0.7, 0.2, 0.1}, {0.2, 0.5, 0.3}, {0.1, 0.3, 0.6}, {0.4, 0.4, 0.2},
            {0.3, 0.3, 0.4}, {0.5, 0.1, 0.4}, {0.2, 0.6, 0.2}, {0.1, 0.2, 0.7}};
    private static final int[] THREE_CLASS_LABELS = {0, 1, 2, 1, 0, 2, 1, 2};

    static double[][] binaryProbabilities() {
        double[][] p = new double[BINARY_SCORES.length][];
        for (int i = 0; i < p.length; i++) {
            p[i] = new double[]{1 - BINARY_SCORES[i], BINARY_SCORES[i]};
        }
        return p;
    }

    @Test
    void binaryMetricsAtDefaultThreshold() {
        ClassificationMetrics m = ClassificationMetrics.compute(binaryProbabilities(), BINARY_LABELS,
                List.of("benign", "malignant"));
        assertTrue(m.isBinary());
        assertEquals(0.5, m.threshold());
        // score 0.5 of a negative is NOT called positive: MedMNIST uses score > threshold.
        // negatives 0.1 0.3 0.5 0.2 0.7 -> TN 4, FP 1; positives 0.35 0.6 0.8 0.9 0.45 -> TP 3, FN 2
        assertArrayEquals(new int[][]{{4, 1}, {2, 3}}, m.confusionMatrix(), "rows = true, columns = predicted");
        assertEquals(0.7, m.accuracy(), EPS);
        ClassificationMetrics.ClassMetrics malignant = m.perClass().get(1);
        assertEquals("malignant", malignant.name());
        assertEquals(0.75, malignant.precision(), EPS);
        assertEquals(0.6, malignant.recall(), EPS);
        assertEquals(0.8, malignant.specificity(), EPS);
        assertEquals(6.0 / 9, malignant.f1(), EPS);
        assertEquals(5, malignant.support());
        ClassificationMetrics.ClassMetrics benign = m.perClass().get(0);
        assertEquals(4.0 / 6, benign.precision(), EPS);
        assertEquals(0.8, benign.recall(), EPS);
        assertEquals(0.6, benign.specificity(), EPS);
        assertEquals(8.0 / 11, benign.f1(), EPS);
        assertEquals(0.7, m.balancedAccuracy(), EPS);
        // 20 of 25 (positive, negative) pairs ordered correctly
        assertEquals(0.8, m.auc(), EPS);
        assertEquals(0.8, malignant.auc(), EPS);
        assertEquals(0.8, benign.auc(), EPS, "class-0 column is 1 - score: same ranking");
        assertEquals(0.5269958507251126, m.logLoss(), 1e-12);
    }

    @Test
    void binaryThresholdMovesTheOperatingPoint() {
        ClassificationMetrics m = ClassificationMetrics.compute(binaryProbabilities(), BINARY_LABELS, null, 0.325);
        // negatives above 0.325: 0.5 and 0.7; every positive (lowest 0.35) is above
        assertArrayEquals(new int[][]{{3, 2}, {0, 5}}, m.confusionMatrix());
        assertEquals(1.0, m.perClass().get(1).recall(), EPS);
        assertEquals(0.6, m.perClass().get(1).specificity(), EPS);
        assertEquals(0.8, m.auc(), EPS, "AUC does not depend on the threshold");
        assertEquals(List.of("0", "1"), m.classNames());
    }

    @Test
    void threeClassMacroOneVsRestAucAndArgMax() {
        ClassificationMetrics m = ClassificationMetrics.compute(THREE_CLASS, THREE_CLASS_LABELS,
                List.of("a", "b", "c"));
        assertFalse(m.isBinary());
        assertTrue(Double.isNaN(m.threshold()));
        assertArrayEquals(new int[]{0, 1, 2, 0, 2, 0, 1, 2}, m.predictedLabels());
        assertArrayEquals(new int[][]{{1, 0, 1}, {1, 2, 0}, {1, 0, 2}}, m.confusionMatrix());
        assertEquals(5.0 / 8, m.accuracy(), EPS);
        assertEquals((0.5 + 2.0 / 3 + 2.0 / 3) / 3, m.balancedAccuracy(), EPS);
        // one-vs-rest AUCs counted over pairs: a 10/12, b 15/15, c 14.5/15
        assertEquals(10.0 / 12, m.perClass().get(0).auc(), EPS);
        assertEquals(1.0, m.perClass().get(1).auc(), EPS);
        assertEquals(14.5 / 15, m.perClass().get(2).auc(), EPS);
        assertEquals((10.0 / 12 + 1.0 + 14.5 / 15) / 3, m.auc(), EPS);
        assertEquals(1.0 / 3, m.perClass().get(0).precision(), EPS);
        assertEquals(2.0 / 3, m.perClass().get(0).specificity(), EPS);
        assertEquals(0.4, m.perClass().get(0).f1(), EPS);
        assertEquals(0.8, m.perClass().get(2).specificity(), EPS);
        assertEquals(0.6830878230054547, m.logLoss(), 1e-12);
    }

    @Test
    void absentClassHasUndefinedAucLeftOutOfTheMean() {
        double[][] p = {{0.8, 0.1, 0.1}, {0.2, 0.7, 0.1}, {0.6, 0.3, 0.1}, {0.3, 0.6, 0.1}};
        int[] labels = {0, 1, 0, 1}; // class 2 never occurs
        ClassificationMetrics m = ClassificationMetrics.compute(p, labels, List.of("x", "y", "z"));
        ClassificationMetrics.ClassMetrics absent = m.perClass().get(2);
        assertTrue(Double.isNaN(absent.auc()));
        assertTrue(Double.isNaN(absent.recall()));
        assertTrue(Double.isNaN(absent.precision()), "never predicted");
        assertTrue(Double.isNaN(absent.f1()));
        assertEquals(1.0, absent.specificity(), EPS);
        assertEquals(0, absent.support());
        assertEquals(1.0, m.auc(), EPS, "mean of the two defined AUCs");
        assertEquals(1.0, m.balancedAccuracy(), EPS, "recall averaged over the classes present");
        Map<String, Object> map = m.toMap();
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> perClass = (List<Map<String, Object>>) map.get("perClass");
        assertNull(perClass.get(2).get("auc"), "NaN is written as null for strict JSON");
    }

    @Test
    void logLossIsUndefinedForScoresThatAreNotProbabilities() {
        double[][] logits = {{2.0, -1.0}, {-0.5, 1.5}};
        ClassificationMetrics m = ClassificationMetrics.compute(logits, new int[]{0, 1}, null, 0.0);
        assertTrue(Double.isNaN(m.logLoss()));
        assertEquals(1.0, m.accuracy(), EPS);
    }

    @Test
    void mapHasTheDocumentedKeysInOrder() {
        Map<String, Object> binary = ClassificationMetrics.compute(binaryProbabilities(), BINARY_LABELS, null).toMap();
        assertEquals(List.of("n", "labels", "task", "decision", "threshold", "accuracy", "balancedAccuracy", "auc",
                "logLoss", "perClass", "confusionMatrix"), List.copyOf(binary.keySet()));
        assertEquals(10, binary.get("n"));
        assertEquals(0.5, binary.get("threshold"));
        assertTrue(binary.get("confusionMatrix") instanceof int[][]);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> perClass = (List<Map<String, Object>>) binary.get("perClass");
        assertEquals(List.of("name", "precision", "recall", "specificity", "f1", "support", "auc"),
                List.copyOf(perClass.get(0).keySet()));
        Map<String, Object> multi = ClassificationMetrics.compute(THREE_CLASS, THREE_CLASS_LABELS, null).toMap();
        assertFalse(multi.containsKey("threshold"));
        assertEquals("argmax", multi.get("decision"));
    }

    @Test
    void textReportIsAnAlignedTable() {
        String text = ClassificationMetrics.compute(THREE_CLASS, THREE_CLASS_LABELS,
                List.of("adipose", "background", "cancer-associated stroma")).toText();
        assertTrue(text.contains("accuracy"), text);
        assertTrue(text.contains("0.6250"), text);
        assertTrue(text.contains("cancer-associated stroma"), text);
        assertTrue(text.contains("rows = true class"), text);
        String[] lines = text.split("\n");
        int headerIndex = -1;
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].startsWith("class ")) {
                headerIndex = i;
            }
        }
        assertTrue(headerIndex >= 0, text);
        assertEquals(lines[headerIndex].length(), lines[headerIndex + 1].length(), "columns aligned:\n" + text);
        assertEquals(lines[headerIndex].length(), lines[headerIndex + 3].length(), "columns aligned:\n" + text);
    }

    @Test
    void rejectsInconsistentInput() {
        assertThrows(ResNeXtException.class,
                () -> ClassificationMetrics.compute(THREE_CLASS, new int[]{0, 1}, null));
        assertThrows(ResNeXtException.class,
                () -> ClassificationMetrics.compute(THREE_CLASS, new int[]{0, 1, 2, 3, 0, 1, 2, 0}, null));
        assertThrows(ResNeXtException.class,
                () -> ClassificationMetrics.compute(THREE_CLASS, THREE_CLASS_LABELS, List.of("a", "b")));
        assertThrows(ResNeXtException.class,
                () -> ClassificationMetrics.compute(new double[][]{{0.5, Double.NaN}}, new int[]{0}, null));
        assertThrows(ResNeXtException.class,
                () -> ClassificationMetrics.compute(new double[0][], new int[0], null));
        assertThrows(ResNeXtException.class,
                () -> ClassificationMetrics.compute(new double[][]{{1.0}}, new int[]{0}, null));
    }
}
