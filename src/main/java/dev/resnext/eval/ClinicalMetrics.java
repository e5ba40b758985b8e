package dev.resnext.eval;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The metrics a clinical report gives intervals for, as named statistics of a subset of images (for
 * {@link Bootstrap}): AUC, accuracy, balanced accuracy, and per class (single-label) or per finding
 * (multi-label) sensitivity, specificity, PPV, NPV, F1 and AUC, with their macro means.
 */
public final class ClinicalMetrics {
    private static final String[] PER_CLASS = {"sensitivity", "specificity", "ppv", "npv", "f1", "auc"};

    private ClinicalMetrics() {
    }

    /**
     * Single-label statistic: binary tasks decide at {@code threshold} on the class-1 probability,
     * others by arg-max.
     */
    public static Function<int[], Map<String, Double>> singleLabel(double[][] probabilities, int[] labels,
                                                                   List<String> names, double threshold) {
        return idx -> {
            double[][] p = new double[idx.length][];
            int[] y = new int[idx.length];
            for (int i = 0; i < idx.length; i++) {
                p[i] = probabilities[idx[i]];
                y[i] = labels[idx[i]];
            }
            ClassificationMetrics m = ClassificationMetrics.compute(p, y, names, threshold);
            Map<String, Double> out = new LinkedHashMap<>();
            out.put("auc", m.auc());
            out.put("accuracy", m.accuracy());
            out.put("balancedAccuracy", m.balancedAccuracy());
            int[][] cm = m.confusionMatrix();
            int k = cm.length;
            double[][] perClass = new double[k][];
            for (int c = 0; c < k; c++) {
                long tp = cm[c][c];
                long fn = 0;
                long fp = 0;
                for (int j = 0; j < k; j++) {
                    if (j != c) {
                        fn += cm[c][j];
                        fp += cm[j][c];
                    }
                }
                long tn = idx.length - tp - fn - fp;
                perClass[c] = rates(tp, fp, tn, fn, m.perClass().get(c).auc());
            }
            putPerGroup(out, m.classNames(), perClass);
            return out;
        };
    }

    /** Multi-label statistic: finding k is present when its probability is {@code >} {@code thresholds[k]}. */
    public static Function<int[], Map<String, Double>> multiLabel(double[][] probabilities, int[][] targets,
                                                                  List<String> names, double[] thresholds) {
        return idx -> {
            int l = names.size();
            double[][] perFinding = new double[l][];
            double aucSum = 0;
            int aucCount = 0;
            double accuracy = 0;
            for (int k = 0; k < l; k++) {
                double[] s = new double[idx.length];
                boolean[] pos = new boolean[idx.length];
                long tp = 0, fp = 0, tn = 0, fn = 0;
                for (int i = 0; i < idx.length; i++) {
                    s[i] = probabilities[idx[i]][k];
                    pos[i] = targets[idx[i]][k] == 1;
                    boolean called = s[i] > thresholds[k];
                    if (called && pos[i]) tp++;
                    else if (called) fp++;
                    else if (pos[i]) fn++;
                    else tn++;
                }
                double auc = Auc.mannWhitney(s, pos);
                if (!Double.isNaN(auc)) {
                    aucSum += auc;
                    aucCount++;
                }
                accuracy += (double) (tp + tn) / idx.length;
                perFinding[k] = rates(tp, fp, tn, fn, auc);
            }
            Map<String, Double> out = new LinkedHashMap<>();
            out.put("auc", aucCount == 0 ? Double.NaN : aucSum / aucCount);
            out.put("accuracy", accuracy / l);
            double balanced = 0;
            int defined = 0;
            for (double[] r : perFinding) {
                double b = (r[0] + r[1]) / 2;
                if (!Double.isNaN(b)) {
                    balanced += b;
                    defined++;
                }
            }
            out.put("balancedAccuracy", defined == 0 ? Double.NaN : balanced / defined);
            putPerGroup(out, names, perFinding);
            return out;
        };
    }

    private static double[] rates(long tp, long fp, long tn, long fn, double auc) {
        return new double[] {Inputs.ratio(tp, tp + fn), Inputs.ratio(tn, tn + fp), Inputs.ratio(tp, tp + fp),
                Inputs.ratio(tn, tn + fn), Inputs.ratio(2 * tp, 2 * tp + fp + fn), auc};
    }

    private static void putPerGroup(Map<String, Double> out, List<String> names, double[][] values) {
        for (int m = 0; m < PER_CLASS.length; m++) {
            double sum = 0;
            int n = 0;
            for (double[] v : values) {
                if (!Double.isNaN(v[m])) {
                    sum += v[m];
                    n++;
                }
            }
            out.put("macro." + PER_CLASS[m], n == 0 ? Double.NaN : sum / n);
        }
        for (int c = 0; c < names.size(); c++) {
            for (int m = 0; m < PER_CLASS.length; m++) {
                out.put(names.get(c) + "." + PER_CLASS[m], values[c][m]);
            }
        }
    }
}
