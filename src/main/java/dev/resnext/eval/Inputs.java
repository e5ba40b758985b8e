package dev.resnext.eval;

import dev.resnext.ResNeXtException;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;

/** Validation and conversion of evaluation inputs, shared by the metric classes. */
final class Inputs {

    private Inputs() {
    }

    /** Checks that {@code scores} is a non-empty N x K matrix of finite numbers and returns K. */
    static int checkScoreMatrix(double[][] scores, String what) {
        if (scores == null || scores.length == 0) {
            throw new ResNeXtException("no " + what + " to evaluate (0 samples)");
        }
        int k = scores[0] == null ? 0 : scores[0].length;
        if (k == 0) {
            throw new ResNeXtException(what + " have 0 columns");
        }
        for (int i = 0; i < scores.length; i++) {
            if (scores[i] == null || scores[i].length != k) {
                throw new ResNeXtException(what + " row " + i + " has " + (scores[i] == null ? 0 : scores[i].length)
                        + " values, expected " + k);
            }
            for (int j = 0; j < k; j++) {
                if (!Double.isFinite(scores[i][j])) {
                    // a diverged model produces NaN; ranking NaN would give a meaningless AUC
                    throw new ResNeXtException(what + " row " + i + " column " + j + " is " + scores[i][j]
                            + " (not a finite number)");
                }
            }
        }
        return k;
    }

    /** Class names, or "0".."k-1" when {@code names} is null; checks the count. */
    static List<String> names(List<String> names, int k, String what) {
        if (names == null) {
            List<String> generated = new ArrayList<>(k);
            for (int i = 0; i < k; i++) {
                generated.add(Integer.toString(i));
            }
            return List.copyOf(generated);
        }
        if (names.size() != k) {
            throw new ResNeXtException(names.size() + " " + what + " names given but the scores have " + k
                    + " columns");
        }
        List<String> copy = new ArrayList<>(k);
        for (String n : names) {
            copy.add(n == null ? "" : n);
        }
        return List.copyOf(copy);
    }

    /** Converts an N x K INDArray to a Java matrix (one copy; the metrics need random access). */
    static double[][] toMatrix(INDArray array, String what) {
        if (array == null) {
            throw new ResNeXtException("no " + what + " given");
        }
        if (array.rank() == 1) {
            throw new ResNeXtException(what + " must be an N x K matrix, got a vector of length " + array.length());
        }
        if (array.rank() != 2) {
            throw new ResNeXtException(what + " must be an N x K matrix, got shape "
                    + java.util.Arrays.toString(array.shape()));
        }
        return array.toDoubleMatrix();
    }

    /**
     * Class indices from an INDArray: either a vector (or N x 1 column) of indices, or an N x K one-hot
     * (or soft) label matrix, whose arg-max is taken.
     */
    static int[] toClassIndices(INDArray labels, int numClasses) {
        if (labels == null) {
            throw new ResNeXtException("no labels given");
        }
        boolean indexVector = labels.rank() == 1 || (labels.rank() == 2 && labels.columns() == 1 && numClasses != 1);
        if (indexVector) {
            double[] values = labels.reshape(labels.length()).toDoubleVector();
            int[] out = new int[values.length];
            for (int i = 0; i < values.length; i++) {
                if (values[i] != Math.rint(values[i])) {
                    throw new ResNeXtException("label " + i + " is " + values[i] + ", expected a class index");
                }
                out[i] = (int) values[i];
            }
            return out;
        }
        if (labels.rank() != 2 || labels.columns() != numClasses) {
            throw new ResNeXtException("labels must be class indices or an N x " + numClasses
                    + " one-hot matrix, got shape " + java.util.Arrays.toString(labels.shape()));
        }
        double[][] oneHot = labels.toDoubleMatrix();
        int[] out = new int[oneHot.length];
        for (int i = 0; i < oneHot.length; i++) {
            out[i] = argMax(oneHot[i]);
        }
        return out;
    }

    /** Index of the largest value; the first one on ties, like numpy's argmax used by MedMNIST. */
    static int argMax(double[] row) {
        int best = 0;
        for (int j = 1; j < row.length; j++) {
            if (row[j] > row[best]) {
                best = j;
            }
        }
        return best;
    }

    static void checkThreshold(double threshold) {
        if (!Double.isFinite(threshold)) {
            throw new ResNeXtException("decision threshold must be a finite number, got " + threshold);
        }
    }

    /** NaN (undefined) becomes null so that maps serialise to strict JSON. */
    static Object jsonNumber(double value) {
        return Double.isNaN(value) ? null : value;
    }

    /** Safe ratio: NaN when the denominator is 0 (the rate is undefined, not zero). */
    static double ratio(long numerator, long denominator) {
        return denominator == 0 ? Double.NaN : (double) numerator / denominator;
    }

    /** Mean of the values that are not NaN; NaN when none is defined. */
    static double meanOfDefined(double[] values) {
        double sum = 0;
        int count = 0;
        for (double v : values) {
            if (!Double.isNaN(v)) {
                sum += v;
                count++;
            }
        }
        return count == 0 ? Double.NaN : sum / count;
    }
}
