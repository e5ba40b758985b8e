package dev.resnext.eval;

import dev.resnext.ResNeXtException;

import java.util.Arrays;
import java.util.Comparator;

/**
 * Area under the ROC curve of one binary problem, computed exactly with the Mann-Whitney rank
 * statistic: {@code AUC = (R+ - n+(n+ + 1)/2) / (n+ n-)}, where {@code R+} is the sum of the ranks of
 * the positive samples' scores. Tied scores get the average of their ranks, so a tie between a
 * positive and a negative counts one half, the same value as scikit-learn's {@code roc_auc_score}
 * (trapezoidal area), which the MedMNIST evaluator calls.
 */
public final class Auc {

    private Auc() {
    }

    /**
     * AUC of {@code scores} for the samples marked {@code positive}; a higher score should mean "more
     * likely positive". Returns {@code NaN} when there is no positive or no negative sample, because
     * the ROC curve is then undefined (scikit-learn raises an error in that case).
     */
    public static double mannWhitney(double[] scores, boolean[] positive) {
        checkSameLength(scores, positive);
        int n = scores.length;
        long positives = 0;
        for (boolean p : positive) {
            if (p) {
                positives++;
            }
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0) {
            return Double.NaN;
        }
        Integer[] order = ascendingOrder(scores);
        double positiveRankSum = 0;
        int start = 0;
        while (start < n) {
            int end = start;
            while (end + 1 < n && scores[order[end + 1]] == scores[order[start]]) {
                end++;
            }
            // ranks are 1-based; every member of a tie group gets the group's mean rank
            double averageRank = (start + end) / 2.0 + 1.0;
            for (int i = start; i <= end; i++) {
                if (positive[order[i]]) {
                    positiveRankSum += averageRank;
                }
            }
            start = end + 1;
        }
        double u = positiveRankSum - positives * (positives + 1) / 2.0;
        return u / ((double) positives * negatives);
    }

    static Integer[] ascendingOrder(double[] scores) {
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble(i -> scores[i]));
        return order;
    }

    static void checkSameLength(double[] scores, boolean[] positive) {
        if (scores == null || positive == null) {
            throw new ResNeXtException("scores and labels are required");
        }
        if (scores.length != positive.length) {
            throw new ResNeXtException(scores.length + " scores but " + positive.length + " labels");
        }
        for (int i = 0; i < scores.length; i++) {
            if (!Double.isFinite(scores[i])) {
                throw new ResNeXtException("score " + i + " is " + scores[i] + " (not a finite number)");
            }
        }
    }
}
