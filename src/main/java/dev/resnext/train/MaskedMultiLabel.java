package dev.resnext.train;

import dev.resnext.eval.Auc;

/**
 * Multi-label validation metrics with some entries masked out (uncertain labels under the ignore
 * policy): a masked entry counts neither as a positive nor as a negative, in the loss, the
 * accuracy and the per-label AUC (whose mean is reported, as MedMNIST does, over labels that have
 * both classes among their known entries).
 *
 * @param loss     mean binary cross-entropy over known entries
 * @param accuracy share of known entries predicted right at 0.5
 * @param auc      mean per-label AUC
 */
record MaskedMultiLabel(double loss, double accuracy, double auc) {

    /** Metrics of {@code probabilities} against {@code targets}; {@code masks[i]} null means all entries known. */
    static MaskedMultiLabel compute(double[][] probabilities, int[][] targets, float[][] masks) {
        int n = probabilities.length;
        int labels = n == 0 ? 0 : probabilities[0].length;
        double loss = 0;
        long known = 0;
        long right = 0;
        double aucSum = 0;
        int aucCount = 0;
        for (int k = 0; k < labels; k++) {
            int m = 0;
            for (int i = 0; i < n; i++) if (masks[i] == null || masks[i][k] > 0) m++;
            double[] s = new double[m];
            boolean[] pos = new boolean[m];
            int j = 0;
            for (int i = 0; i < n; i++) {
                if (masks[i] != null && masks[i][k] <= 0) continue;
                double p = Math.min(1 - 1e-7, Math.max(1e-7, probabilities[i][k]));
                boolean t = targets[i][k] == 1;
                loss -= t ? Math.log(p) : Math.log(1 - p);
                if ((probabilities[i][k] > 0.5) == t) right++;
                known++;
                s[j] = probabilities[i][k];
                pos[j++] = t;
            }
            double a = Auc.mannWhitney(s, pos);
            if (Double.isFinite(a)) {
                aucSum += a;
                aucCount++;
            }
        }
        return new MaskedMultiLabel(loss / Math.max(1, known), right / (double) Math.max(1, known),
                aucCount == 0 ? Double.NaN : aucSum / aucCount);
    }
}
