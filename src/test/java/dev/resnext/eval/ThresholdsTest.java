package dev.resnext.eval;

import dev.resnext.ResNeXtException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ThresholdsTest {

    private static final double EPS = 1e-12;

    private static final double[] SCORES = {0.1, 0.3, 0.35, 0.5, 0.6, 0.8, 0.2, 0.7, 0.9, 0.45};
    private static final boolean[] POSITIVE = {false, false, true, false, true, true, false, false, true, true};

    @Test
    void youdenPicksTheMaximumOfSensitivityPlusSpecificity() {
        // calling scores >= 0.35 positive finds all 5 positives and 2 of 5 negatives: J = 1 - 0.4 = 0.6,
        // the maximum; the threshold is the middle of the gap to the next lower score 0.3
        Thresholds.OperatingPoint point = Thresholds.youden(RocCurve.of(SCORES, POSITIVE));
        assertEquals(0.325, point.threshold(), EPS);
        assertEquals(1.0, point.sensitivity(), EPS);
        assertEquals(0.6, point.specificity(), EPS);
        assertEquals(0.6, point.youdenJ(), EPS);
    }

    @Test
    void youdenThresholdReproducesItsOperatingPointInTheMetrics() {
        double[][] probabilities = ClassificationMetricsTest.binaryProbabilities();
        int[] labels = new int[POSITIVE.length];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = POSITIVE[i] ? 1 : 0;
        }
        Thresholds.OperatingPoint point = Thresholds.youden(probabilities, labels);
        ClassificationMetrics m = ClassificationMetrics.compute(probabilities, labels, List.of("no", "yes"),
                point.threshold());
        assertEquals(point.sensitivity(), m.perClass().get(1).recall(), EPS);
        assertEquals(point.specificity(), m.perClass().get(1).specificity(), EPS);
        Thresholds.OperatingPoint same = Thresholds.evaluate(SCORES, POSITIVE, point.threshold());
        assertEquals(point.threshold(), same.threshold());
        assertEquals(point.sensitivity(), same.sensitivity(), EPS);
        assertEquals(point.specificity(), same.specificity(), EPS);
    }

    @Test
    void targetSensitivityTakesTheHighestThresholdReachingIt() {
        RocCurve roc = RocCurve.of(SCORES, POSITIVE);
        Thresholds.OperatingPoint p80 = Thresholds.forSensitivity(roc, 0.8);
        assertEquals(0.4, p80.threshold(), EPS); // between 0.45 (4th positive) and 0.35
        assertEquals(0.8, p80.sensitivity(), EPS);
        assertEquals(0.6, p80.specificity(), EPS);
        Thresholds.OperatingPoint p50 = Thresholds.forSensitivity(roc, 0.5);
        assertEquals(0.55, p50.threshold(), EPS); // scores > 0.55 find 3 of 5 positives
        assertEquals(0.6, p50.sensitivity(), EPS);
        assertEquals(0.8, p50.specificity(), EPS);
        Thresholds.OperatingPoint all = Thresholds.forSensitivity(roc, 1.0);
        assertEquals(1.0, all.sensitivity(), EPS);
        assertEquals(0.325, all.threshold(), EPS);
    }

    @Test
    void extremeOperatingPointsStayConsistentWithTheDecisionRule() {
        // perfectly separated data: the best threshold lies between the two groups
        Thresholds.OperatingPoint best = Thresholds.youden(RocCurve.of(new double[]{0.1, 0.2, 0.8, 0.9},
                new boolean[]{false, false, true, true}));
        assertEquals(0.5, best.threshold(), EPS);
        assertEquals(1.0, best.sensitivity(), EPS);
        assertEquals(1.0, best.specificity(), EPS);
        // reversed data: sensitivity 1 needs everything called positive, below the lowest score
        Thresholds.OperatingPoint everything = Thresholds.forSensitivity(RocCurve.of(new double[]{0.9, 0.8, 0.2, 0.1},
                new boolean[]{false, false, true, true}), 1.0);
        assertEquals(0.0, everything.specificity(), EPS);
        assertEquals(Math.nextDown(0.1), everything.threshold());
    }

    @Test
    void rejectsDataWithoutBothClassesAndBadTargets() {
        RocCurve onlyPositives = RocCurve.of(new double[]{0.2, 0.7}, new boolean[]{true, true});
        assertThrows(ResNeXtException.class, () -> Thresholds.youden(onlyPositives));
        RocCurve roc = RocCurve.of(SCORES, POSITIVE);
        assertThrows(ResNeXtException.class, () -> Thresholds.forSensitivity(roc, 0.0));
        assertThrows(ResNeXtException.class, () -> Thresholds.forSensitivity(roc, 1.5));
        assertThrows(ResNeXtException.class,
                () -> Thresholds.youden(new double[][]{{0.2, 0.3, 0.5}}, new int[]{1}));
    }
}
