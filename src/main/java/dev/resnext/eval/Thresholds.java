package dev.resnext.eval;

import dev.resnext.ResNeXtException;

/**
 * Chooses the decision threshold of a binary classifier on validation data, to be applied later to
 * test data with {@link ClassificationMetrics#compute(double[][], int[], java.util.List, double)}.
 *
 * <p>Returned thresholds follow the MedMNIST decision rule "positive when score {@code >} threshold".
 * A ROC point switches on at a score {@code s}; any threshold between {@code s} and the next lower
 * score gives the same validation result, and this class returns the midpoint of that gap (as R's
 * pROC does) rather than {@code s} itself, so that test scores close to {@code s} are not decided by
 * a hair. The sensitivity and specificity returned are those of the validation data at that threshold.
 */
public final class Thresholds {

    /** Tolerance for comparing rates that are ratios of counts. */
    private static final double RATE_TOLERANCE = 1e-12;

    private Thresholds() {
    }

    /**
     * A decision threshold with the sensitivity and specificity it gives.
     *
     * @param threshold   call a sample positive when its score is {@code >} this value
     * @param sensitivity true positive rate (recall of the positive class)
     * @param specificity true negative rate (1 - false positive rate)
     */
    public record OperatingPoint(double threshold, double sensitivity, double specificity) {
        /** Youden's J statistic, {@code sensitivity + specificity - 1}. */
        public double youdenJ() {
            return sensitivity + specificity - 1.0;
        }
    }

    /**
     * Threshold maximising Youden's J = tpr - fpr. On a tie the point with the higher sensitivity
     * wins: in screening a missed case usually costs more than a false alarm.
     */
    public static OperatingPoint youden(RocCurve roc) {
        requireDefined(roc);
        int best = 0;
        double bestJ = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < roc.size(); i++) {
            double j = roc.tprAt(i) - roc.fprAt(i);
            if (j > bestJ + RATE_TOLERANCE
                    || (Math.abs(j - bestJ) <= RATE_TOLERANCE && roc.tprAt(i) > roc.tprAt(best))) {
                best = i;
                bestJ = Math.max(j, bestJ);
            }
        }
        return pointAt(roc, best);
    }

    /** Youden threshold of a binary task from N x 2 probabilities (column 1 = positive) and 0/1 labels. */
    public static OperatingPoint youden(double[][] probabilities, int[] labels) {
        return youden(RocCurve.oneVsRest(checkBinary(probabilities, labels), labels, 1));
    }

    /**
     * The highest threshold whose sensitivity is at least {@code targetSensitivity} (in (0, 1]), i.e.
     * the most specific operating point that still finds that share of the positive cases.
     */
    public static OperatingPoint forSensitivity(RocCurve roc, double targetSensitivity) {
        requireDefined(roc);
        if (!(targetSensitivity > 0 && targetSensitivity <= 1)) {
            throw new ResNeXtException("target sensitivity must be in (0, 1], got " + targetSensitivity);
        }
        for (int i = 0; i < roc.size(); i++) {
            // points go from the highest threshold down, so the first one reaching the target is the
            // highest threshold that does
            if (roc.tprAt(i) >= targetSensitivity - RATE_TOLERANCE) {
                return pointAt(roc, i);
            }
        }
        return pointAt(roc, roc.size() - 1); // unreachable: the last point has tpr = 1
    }

    /** {@link #forSensitivity(RocCurve, double)} for N x 2 probabilities (column 1 = positive) and 0/1 labels. */
    public static OperatingPoint forSensitivity(double[][] probabilities, int[] labels, double targetSensitivity) {
        return forSensitivity(RocCurve.oneVsRest(checkBinary(probabilities, labels), labels, 1), targetSensitivity);
    }

    /**
     * Sensitivity and specificity of a given threshold (positive when score {@code >} threshold), e.g.
     * to report on test data the operating point chosen on validation data. A rate is {@code NaN}
     * when its class is absent.
     */
    public static OperatingPoint evaluate(double[] scores, boolean[] positive, double threshold) {
        Auc.checkSameLength(scores, positive);
        Inputs.checkThreshold(threshold);
        long truePositives = 0;
        long positives = 0;
        long trueNegatives = 0;
        long negatives = 0;
        for (int i = 0; i < scores.length; i++) {
            boolean calledPositive = scores[i] > threshold;
            if (positive[i]) {
                positives++;
                if (calledPositive) {
                    truePositives++;
                }
            } else {
                negatives++;
                if (!calledPositive) {
                    trueNegatives++;
                }
            }
        }
        return new OperatingPoint(threshold, Inputs.ratio(truePositives, positives),
                Inputs.ratio(trueNegatives, negatives));
    }

    private static OperatingPoint pointAt(RocCurve roc, int point) {
        return new OperatingPoint(decisionThreshold(roc, point), roc.tprAt(point), 1.0 - roc.fprAt(point));
    }

    /**
     * Converts ROC point {@code point} ("positive when score >= thresholds[point]") into a threshold
     * for the rule "positive when score > threshold" that gives the same calls on the same data.
     */
    static double decisionThreshold(RocCurve roc, int point) {
        int last = roc.size() - 1;
        if (point == 0) {
            return roc.thresholdAt(1); // nothing is above the highest score
        }
        if (point == last) {
            return Math.nextDown(roc.thresholdAt(last)); // every score is above this
        }
        double upper = roc.thresholdAt(point);
        double lower = roc.thresholdAt(point + 1);
        double midpoint = lower + (upper - lower) / 2.0;
        // with adjacent doubles the midpoint rounds onto an end; the lower score is then the only choice
        return midpoint > lower && midpoint < upper ? midpoint : lower;
    }

    private static void requireDefined(RocCurve roc) {
        if (roc == null) {
            throw new ResNeXtException("no ROC curve given");
        }
        if (roc.positives() == 0) {
            throw new ResNeXtException("cannot choose a threshold: the validation data has no positive sample");
        }
        if (roc.negatives() == 0) {
            throw new ResNeXtException("cannot choose a threshold: the validation data has no negative sample");
        }
    }

    private static double[][] checkBinary(double[][] probabilities, int[] labels) {
        int k = Inputs.checkScoreMatrix(probabilities, "probabilities");
        if (k != 2) {
            throw new ResNeXtException("threshold choice needs a binary task (2 columns), got " + k + " columns");
        }
        if (labels == null || labels.length != probabilities.length) {
            throw new ResNeXtException(probabilities.length + " predictions but "
                    + (labels == null ? 0 : labels.length) + " labels");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] != 0 && labels[i] != 1) {
                throw new ResNeXtException("label " + i + " is " + labels[i] + ", expected 0 or 1");
            }
        }
        return probabilities;
    }
}
