package dev.resnext.eval;

import dev.resnext.ResNeXtException;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DeLong, DeLong and Clarke-Pearson (1988): the difference between two correlated ROC AUCs measured
 * on the same images, with its standard error from the structural components of the Mann-Whitney
 * statistic, and the two-sided p-value of "the AUCs are equal".
 *
 * @param aucA       AUC of model A
 * @param aucB       AUC of model B
 * @param difference {@code aucA - aucB}
 * @param se         standard error of the difference
 * @param z          {@code difference / se}
 * @param p          two-sided p-value
 */
public record DeLong(double aucA, double aucB, double difference, double se, double z, double p) {

    /** Compares two models' scores for the same images and labels. */
    public static DeLong compare(double[] scoresA, double[] scoresB, boolean[] positive) {
        Auc.checkSameLength(scoresA, positive);
        Auc.checkSameLength(scoresB, positive);
        int m = 0;
        for (boolean b : positive) {
            if (b) m++;
        }
        int n = positive.length - m;
        if (m < 2 || n < 2) {
            throw new ResNeXtException("DeLong's test needs at least 2 positive and 2 negative images");
        }
        double[][] v10 = new double[2][m];
        double[][] v01 = new double[2][n];
        double[][] scores = {scoresA, scoresB};
        double[] auc = new double[2];
        for (int r = 0; r < 2; r++) {
            double[] s = scores[r];
            int pi = 0;
            for (int i = 0; i < positive.length; i++) {
                if (!positive[i]) continue;
                int nj = 0;
                for (int j = 0; j < positive.length; j++) {
                    if (positive[j]) continue;
                    double psi = s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                    v10[r][pi] += psi;
                    v01[r][nj] += psi;
                    nj++;
                }
                pi++;
            }
            for (int i = 0; i < m; i++) v10[r][i] /= n;
            for (int j = 0; j < n; j++) v01[r][j] /= m;
            double sum = 0;
            for (double v : v10[r]) sum += v;
            auc[r] = sum / m;
        }
        double var = (covariance(v10[0], v10[0]) + covariance(v10[1], v10[1]) - 2 * covariance(v10[0], v10[1])) / m
                + (covariance(v01[0], v01[0]) + covariance(v01[1], v01[1]) - 2 * covariance(v01[0], v01[1])) / n;
        double diff = auc[0] - auc[1];
        double se = Math.sqrt(Math.max(0, var));
        double z = se == 0 ? (diff == 0 ? 0 : Math.copySign(Double.POSITIVE_INFINITY, diff)) : diff / se;
        double p = 2 * (1 - new org.apache.commons.math3.distribution.NormalDistribution().cumulativeProbability(
                Math.abs(z)));
        return new DeLong(auc[0], auc[1], diff, se, z, Math.min(1, p));
    }

    private static double covariance(double[] x, double[] y) {
        double mx = 0, my = 0;
        for (int i = 0; i < x.length; i++) {
            mx += x[i];
            my += y[i];
        }
        mx /= x.length;
        my /= y.length;
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += (x[i] - mx) * (y[i] - my);
        }
        return s / (x.length - 1);
    }

    /** JSON-ready map. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", "DeLong");
        m.put("aucA", aucA);
        m.put("aucB", aucB);
        m.put("difference", difference);
        m.put("se", se);
        m.put("z", Inputs.jsonNumber(z));
        m.put("p", p);
        return m;
    }
}
