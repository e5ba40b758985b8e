package dev.resnext.eval;

import dev.resnext.ResNeXtException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AucAndRocCurveTest {

    private static final double EPS = 1e-12;
    private static final boolean[] TWO_NEG_TWO_POS = {false, false, true, true};

    @Test
    void perfectSeparationIsOne() {
        assertEquals(1.0, Auc.mannWhitney(new double[]{0.1, 0.2, 0.8, 0.9}, TWO_NEG_TWO_POS), EPS);
    }

    @Test
    void reversedSeparationIsZero() {
        assertEquals(0.0, Auc.mannWhitney(new double[]{0.9, 0.8, 0.2, 0.1}, TWO_NEG_TWO_POS), EPS);
    }

    @Test
    void allTiedScoresGiveOneHalf() {
        assertEquals(0.5, Auc.mannWhitney(new double[]{0.3, 0.3, 0.3, 0.3}, TWO_NEG_TWO_POS), EPS);
    }

    @Test
    void smallExampleMatchesPairCounting() {
        // pairs (positive, negative): 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 -> 3 of 4
        assertEquals(0.75, Auc.mannWhitney(new double[]{0.1, 0.4, 0.35, 0.8}, TWO_NEG_TWO_POS), EPS);
    }

    @Test
    void tieBetweenPositiveAndNegativeCountsOneHalf() {
        // positives 0.5, 0.9 vs negatives 0.2, 0.5, 0.3: 1 + 0.5 + 1 + 3 = 5.5 of 6 pairs
        double auc = Auc.mannWhitney(new double[]{0.2, 0.5, 0.5, 0.9, 0.3},
                new boolean[]{false, true, false, true, false});
        assertEquals(5.5 / 6, auc, EPS);
    }

    @Test
    void aucIsUndefinedWithoutBothClasses() {
        assertTrue(Double.isNaN(Auc.mannWhitney(new double[]{0.1, 0.9}, new boolean[]{true, true})));
        assertTrue(Double.isNaN(Auc.mannWhitney(new double[]{0.1, 0.9}, new boolean[]{false, false})));
    }

    @Test
    void rejectsNonFiniteScoresAndLengthMismatch() {
        assertThrows(ResNeXtException.class, () -> Auc.mannWhitney(new double[]{Double.NaN, 1}, TWO_NEG_TWO_POS));
        assertThrows(ResNeXtException.class, () -> Auc.mannWhitney(new double[]{0.1, 0.2}, TWO_NEG_TWO_POS));
    }

    @Test
    void rocPointsOnePerDistinctScoreFromHighestThreshold() {
        RocCurve roc = RocCurve.of(new double[]{0.2, 0.5, 0.5, 0.9, 0.3},
                new boolean[]{false, true, false, true, false});
        assertArrayEquals(new double[]{Double.POSITIVE_INFINITY, 0.9, 0.5, 0.3, 0.2}, roc.thresholds(), EPS);
        assertArrayEquals(new double[]{0, 0.5, 1, 1, 1}, roc.tpr(), EPS);
        assertArrayEquals(new double[]{0, 0, 1.0 / 3, 2.0 / 3, 1}, roc.fpr(), EPS);
        assertEquals(2, roc.positives());
        assertEquals(3, roc.negatives());
        assertTrue(roc.isDefined());
        assertEquals(5.5 / 6, roc.auc(), EPS);
        assertEquals(trapezoidArea(roc), roc.auc(), EPS);
    }

    @Test
    void oneVsRestUsesTheClassColumn() {
        double[][] probabilities = {{0.7, 0.2, 0.1}, {0.2, 0.5, 0.3}, {0.1, 0.3, 0.6}, {0.4, 0.4, 0.2}};
        int[] labels = {0, 1, 2, 1};
        RocCurve roc = RocCurve.oneVsRest(probabilities, labels, 1);
        assertEquals(2, roc.positives());
        // class-1 scores of positives 0.5, 0.4 vs negatives 0.2, 0.3: all pairs ordered
        assertEquals(1.0, roc.auc(), EPS);
    }

    @Test
    void curveWithoutNegativesIsUndefined() {
        RocCurve roc = RocCurve.of(new double[]{0.4, 0.6}, new boolean[]{true, true});
        assertFalse(roc.isDefined());
        assertTrue(Double.isNaN(roc.auc()));
        assertTrue(Double.isNaN(roc.fpr()[1]));
    }

    private static double trapezoidArea(RocCurve roc) {
        double[] x = roc.fpr();
        double[] y = roc.tpr();
        double area = 0;
        for (int i = 1; i < x.length; i++) {
            area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
        }
        return area;
    }
}
