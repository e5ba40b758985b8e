package dev.resnext.eval;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BootstrapTest {

    /** Binormal scores: negatives N(0,1), positives N(d,1); the true AUC is Phi(d / sqrt 2). */
    private static double[] scores(Random r, boolean[] positive, double d) {
        double[] s = new double[positive.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = r.nextGaussian() + (positive[i] ? d : 0);
        }
        return s;
    }

    private static Function<int[], Map<String, Double>> auc(double[] s, boolean[] positive) {
        return idx -> {
            double[] x = new double[idx.length];
            boolean[] y = new boolean[idx.length];
            for (int i = 0; i < idx.length; i++) {
                x[i] = s[idx[i]];
                y[i] = positive[idx[i]];
            }
            return Map.of("auc", Auc.mannWhitney(x, y));
        };
    }

    @Test
    void percentileIntervalsCoverTheTrueAucAtLeast90TimesIn100() {
        double d = 1.5;
        double trueAuc = new org.apache.commons.math3.distribution.NormalDistribution().cumulativeProbability(
                d / Math.sqrt(2));
        boolean[] positive = new boolean[200];
        for (int i = 0; i < 100; i++) positive[i] = true;
        int covered = 0;
        for (int seed = 0; seed < 100; seed++) {
            double[] s = scores(new Random(seed), positive, d);
            Bootstrap.Interval ci = Bootstrap.percentile(s.length, 300, seed, auc(s, positive)).intervals().get("auc");
            if (ci.lower() <= trueAuc && trueAuc <= ci.upper()) covered++;
        }
        assertTrue(covered >= 90, "covered " + covered + " of 100");
    }

    @Test
    void accuracyIntervalMatchesTheNormalApproximationOfAProportion() {
        int n = 2000;
        double[][] p = new double[n][];
        int[] labels = new int[n];
        int correct = 0;
        Random r = new Random(7);
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(2);
            boolean right = r.nextDouble() < 0.8;
            correct += right ? 1 : 0;
            int predicted = right ? labels[i] : 1 - labels[i];
            p[i] = predicted == 1 ? new double[] {0.3, 0.7} : new double[] {0.7, 0.3};
        }
        double acc = (double) correct / n;
        double half = 1.959964 * Math.sqrt(acc * (1 - acc) / n);
        Bootstrap.Interval ci = Bootstrap.percentile(n, 2000, 1,
                ClinicalMetrics.singleLabel(p, labels, List.of("a", "b"), 0.5)).intervals().get("accuracy");
        assertEquals(acc, ci.estimate(), 1e-12);
        assertEquals(acc - half, ci.lower(), 0.004);
        assertEquals(acc + half, ci.upper(), 0.004);
    }

    @Test
    void sameSeedSameIntervalsOtherSeedOtherIntervals() {
        boolean[] positive = new boolean[120];
        for (int i = 0; i < 50; i++) positive[i] = true;
        double[] s = scores(new Random(3), positive, 1.0);
        var a = Bootstrap.percentile(s.length, 200, 42, auc(s, positive));
        var b = Bootstrap.percentile(s.length, 200, 42, auc(s, positive));
        var c = Bootstrap.percentile(s.length, 200, 43, auc(s, positive));
        assertEquals(a, b);
        assertTrue(!a.intervals().equals(c.intervals()));
    }

    @Test
    void clinicalMetricsHaveEveryListedMetricPerClassAndMacro() {
        double[][] p = {{0.9, 0.1}, {0.2, 0.8}, {0.6, 0.4}, {0.3, 0.7}};
        int[] y = {0, 1, 1, 0};
        Map<String, Double> m = ClinicalMetrics.singleLabel(p, y, List.of("normal", "pneumonia"), 0.5)
                .apply(Bootstrap.identity(4));
        for (String k : List.of("auc", "accuracy", "balancedAccuracy", "macro.sensitivity", "macro.specificity",
                "macro.ppv", "macro.npv", "macro.f1", "pneumonia.sensitivity", "pneumonia.npv", "normal.ppv")) {
            assertTrue(m.containsKey(k), k);
        }
        assertEquals(0.5, m.get("pneumonia.sensitivity"), 1e-12);
        assertEquals(0.5, m.get("pneumonia.specificity"), 1e-12);
        assertEquals(0.5, m.get("pneumonia.ppv"), 1e-12);
        assertEquals(0.5, m.get("pneumonia.npv"), 1e-12);
    }

    @Test
    void pairedComparisonAndDeLongSeeAClearDifferenceAndNoneBetweenEqualModels() {
        boolean[] positive = new boolean[300];
        for (int i = 0; i < 150; i++) positive[i] = true;
        Random r = new Random(11);
        double[] good = scores(r, positive, 2.0);
        double[] poor = scores(r, positive, 0.5);
        DeLong dl = DeLong.compare(good, poor, positive);
        assertTrue(dl.p() < 0.001, dl.toString());
        assertEquals(1.0, DeLong.compare(good, good, positive).p(), 1e-12);
        var cmp = Bootstrap.paired(300, 300, 5, auc(good, positive), auc(poor, positive)).get("auc");
        assertTrue(cmp.difference().lower() > 0 && cmp.p() < 0.01, cmp.toString());
    }
}
