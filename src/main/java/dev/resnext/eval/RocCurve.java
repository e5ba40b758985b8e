package dev.resnext.eval;

import dev.resnext.ResNeXtException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Receiver operating characteristic of one binary (or one-vs-rest) problem, with one point per
 * distinct score, for plots and for choosing a decision threshold.
 *
 * <p>Point {@code i} is the operating point "call a sample positive when its score is
 * {@code >= thresholds()[i]}" (scikit-learn's {@code roc_curve} convention, without dropping collinear
 * points). Point 0 has threshold {@code +Infinity} (nothing called positive, fpr = tpr = 0); the last
 * point is the smallest score (everything positive, fpr = tpr = 1). Thresholds decrease, fpr and tpr
 * never decrease. When the data has no negative (no positive) sample the false (true) positive rate
 * is undefined: that array holds {@code NaN} and {@link #isDefined()} is false.
 */
public final class RocCurve {

    private final double[] falsePositiveRates;
    private final double[] truePositiveRates;
    private final double[] thresholds;
    private final int positives;
    private final int negatives;
    private final double auc;

    private RocCurve(double[] fpr, double[] tpr, double[] thresholds, int positives, int negatives, double auc) {
        this.falsePositiveRates = fpr;
        this.truePositiveRates = tpr;
        this.thresholds = thresholds;
        this.positives = positives;
        this.negatives = negatives;
        this.auc = auc;
    }

    /** ROC curve of {@code scores} (higher = more likely positive) against the {@code positive} flags. */
    public static RocCurve of(double[] scores, boolean[] positive) {
        Auc.checkSameLength(scores, positive);
        if (scores.length == 0) {
            throw new ResNeXtException("no samples for a ROC curve");
        }
        int n = scores.length;
        int totalPositives = 0;
        for (boolean p : positive) {
            if (p) {
                totalPositives++;
            }
        }
        int totalNegatives = n - totalPositives;
        Integer[] ascending = Auc.ascendingOrder(scores);
        List<double[]> points = new ArrayList<>();
        points.add(new double[]{0, 0, Double.POSITIVE_INFINITY});
        int truePositives = 0;
        int falsePositives = 0;
        int i = n - 1;
        while (i >= 0) {
            double score = scores[ascending[i]];
            // all samples sharing a score switch to positive together: one point per distinct score
            while (i >= 0 && scores[ascending[i]] == score) {
                if (positive[ascending[i]]) {
                    truePositives++;
                } else {
                    falsePositives++;
                }
                i--;
            }
            points.add(new double[]{falsePositives, truePositives, score});
        }
        int m = points.size();
        double[] fpr = new double[m];
        double[] tpr = new double[m];
        double[] thr = new double[m];
        for (int p = 0; p < m; p++) {
            double[] point = points.get(p);
            fpr[p] = Inputs.ratio((long) point[0], totalNegatives);
            tpr[p] = Inputs.ratio((long) point[1], totalPositives);
            thr[p] = point[2];
        }
        return new RocCurve(fpr, tpr, thr, totalPositives, totalNegatives, Auc.mannWhitney(scores, positive));
    }

    /**
     * One-vs-rest curve of class {@code classIndex}: column {@code classIndex} of {@code probabilities}
     * scores the samples whose label is {@code classIndex} against all others (MedMNIST's multi-class
     * definition).
     */
    public static RocCurve oneVsRest(double[][] probabilities, int[] labels, int classIndex) {
        int k = Inputs.checkScoreMatrix(probabilities, "probabilities");
        if (classIndex < 0 || classIndex >= k) {
            throw new ResNeXtException("class index " + classIndex + " out of range 0.." + (k - 1));
        }
        if (labels == null || labels.length != probabilities.length) {
            throw new ResNeXtException(probabilities.length + " predictions but "
                    + (labels == null ? 0 : labels.length) + " labels");
        }
        double[] scores = new double[labels.length];
        boolean[] positive = new boolean[labels.length];
        for (int i = 0; i < labels.length; i++) {
            scores[i] = probabilities[i][classIndex];
            positive[i] = labels[i] == classIndex;
        }
        return of(scores, positive);
    }

    /** Curve of label {@code labelIndex} of a multi-label task ({@code targets} hold 0 or 1). */
    public static RocCurve forLabel(double[][] probabilities, int[][] targets, int labelIndex) {
        int k = Inputs.checkScoreMatrix(probabilities, "probabilities");
        if (labelIndex < 0 || labelIndex >= k) {
            throw new ResNeXtException("label index " + labelIndex + " out of range 0.." + (k - 1));
        }
        if (targets == null || targets.length != probabilities.length) {
            throw new ResNeXtException(probabilities.length + " predictions but "
                    + (targets == null ? 0 : targets.length) + " target rows");
        }
        double[] scores = new double[targets.length];
        boolean[] positive = new boolean[targets.length];
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] == null || targets[i].length != k) {
                throw new ResNeXtException("target row " + i + " does not have " + k + " values");
            }
            scores[i] = probabilities[i][labelIndex];
            positive[i] = targets[i][labelIndex] != 0;
        }
        return of(scores, positive);
    }

    /** False positive rates (1 - specificity), one per point; a copy. */
    public double[] fpr() {
        return falsePositiveRates.clone();
    }

    /** True positive rates (sensitivity, recall), one per point; a copy. */
    public double[] tpr() {
        return truePositiveRates.clone();
    }

    /** Score thresholds: point {@code i} calls positive every score {@code >= thresholds()[i]}; a copy. */
    public double[] thresholds() {
        return thresholds.clone();
    }

    /** Number of points, including the (0, 0) point at threshold {@code +Infinity}. */
    public int size() {
        return thresholds.length;
    }

    public int positives() {
        return positives;
    }

    public int negatives() {
        return negatives;
    }

    /** Whether both classes occur, so that both rates and the AUC are defined. */
    public boolean isDefined() {
        return positives > 0 && negatives > 0;
    }

    /** Area under the curve (Mann-Whitney, ties count one half); {@code NaN} when not {@link #isDefined()}. */
    public double auc() {
        return auc;
    }

    double fprAt(int point) {
        return falsePositiveRates[point];
    }

    double tprAt(int point) {
        return truePositiveRates[point];
    }

    double thresholdAt(int point) {
        return thresholds[point];
    }

    @Override
    public String toString() {
        return "RocCurve[points=" + size() + ", positives=" + positives + ", negatives=" + negatives + ", auc=" + auc
                + ", thresholds=" + Arrays.toString(Arrays.copyOf(thresholds, Math.min(5, thresholds.length)))
                + (thresholds.length > 5 ? "...]" : "]");
    }
}
