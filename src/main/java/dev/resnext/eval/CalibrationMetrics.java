package dev.resnext.eval;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How well probabilities match observed frequencies: expected calibration error over equal-width
 * confidence bins, the Brier score, and the bins themselves for a reliability diagram.
 *
 * <p>Single-label: ECE of the top-label confidence (Guo et al. 2017); Brier score of a binary task is
 * the mean squared error of the class-1 probability (scikit-learn's {@code brier_score_loss}), of a
 * multi-class task the sum over classes (Brier's original definition). Multi-label: both averaged
 * over the findings, each on its own probability.
 *
 * @param bins       number of bins
 * @param ece        expected calibration error: sum over bins of (bin size / n) |accuracy - confidence|
 * @param brier      Brier score
 * @param confidence mean confidence per bin (NaN for an empty bin)
 * @param observed   observed frequency per bin (NaN for an empty bin)
 * @param counts     samples per bin
 */
public record CalibrationMetrics(int bins, double ece, double brier, double[] confidence, double[] observed,
                                 long[] counts) {
    /** The number of bins the issue and most papers use. */
    public static final int DEFAULT_BINS = 15;

    /** Calibration of single-label probabilities. */
    public static CalibrationMetrics of(double[][] probabilities, int[] labels, int bins) {
        int n = probabilities.length;
        double[] conf = new double[n];
        boolean[] correct = new boolean[n];
        double brier = 0;
        for (int i = 0; i < n; i++) {
            int top = Inputs.argMax(probabilities[i]);
            conf[i] = probabilities[i][top];
            correct[i] = top == labels[i];
            if (probabilities[i].length == 2) {
                double e = probabilities[i][1] - (labels[i] == 1 ? 1 : 0);
                brier += e * e;
            } else {
                for (int k = 0; k < probabilities[i].length; k++) {
                    double e = probabilities[i][k] - (labels[i] == k ? 1 : 0);
                    brier += e * e;
                }
            }
        }
        return binned(conf, correct, bins, brier / Math.max(1, n));
    }

    /** Calibration of multi-label probabilities: every (image, finding) pair is one prediction. */
    public static CalibrationMetrics ofMultiLabel(double[][] probabilities, int[][] targets, int bins) {
        int n = probabilities.length;
        int l = n == 0 ? 0 : probabilities[0].length;
        double[] p = new double[n * l];
        boolean[] y = new boolean[n * l];
        double brier = 0;
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < l; k++) {
                p[i * l + k] = probabilities[i][k];
                y[i * l + k] = targets[i][k] == 1;
                double e = probabilities[i][k] - (y[i * l + k] ? 1 : 0);
                brier += e * e;
            }
        }
        return binned(p, y, bins, brier / Math.max(1, (long) n * l));
    }

    /** ECE of confidences against outcomes over {@code bins} equal-width bins of [0, 1]. */
    static CalibrationMetrics binned(double[] confidence, boolean[] outcome, int bins, double brier) {
        double[] sumConf = new double[bins];
        double[] sumHit = new double[bins];
        long[] counts = new long[bins];
        for (int i = 0; i < confidence.length; i++) {
            // bins are (lo, hi], the first also takes 0
            int b = Math.min(bins - 1, Math.max(0, (int) Math.ceil(confidence[i] * bins) - 1));
            sumConf[b] += confidence[i];
            sumHit[b] += outcome[i] ? 1 : 0;
            counts[b]++;
        }
        double ece = 0;
        double[] meanConf = new double[bins];
        double[] observed = new double[bins];
        for (int b = 0; b < bins; b++) {
            meanConf[b] = counts[b] == 0 ? Double.NaN : sumConf[b] / counts[b];
            observed[b] = counts[b] == 0 ? Double.NaN : sumHit[b] / counts[b];
            if (counts[b] > 0) {
                ece += (double) counts[b] / confidence.length * Math.abs(observed[b] - meanConf[b]);
            }
        }
        return new CalibrationMetrics(bins, confidence.length == 0 ? Double.NaN : ece, brier, meanConf, observed,
                counts);
    }

    /** JSON-ready map: bins, ece, brier. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bins", bins);
        m.put("ece", Inputs.jsonNumber(ece));
        m.put("brier", Inputs.jsonNumber(brier));
        return m;
    }
}
