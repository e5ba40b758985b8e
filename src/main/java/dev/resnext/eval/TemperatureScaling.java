package dev.resnext.eval;

import dev.resnext.ResNeXtException;

/**
 * Temperature scaling (Guo et al. 2017): one positive scalar T divides the logits, which changes
 * how confident the probabilities are but never which class ranks first. Single-label models get
 * one T for the softmax; multi-label models one T per finding for its sigmoid.
 *
 * <p>The network outputs probabilities, not logits. For a softmax {@code log p} equals the logits up
 * to a constant per row, which the softmax cancels, so {@code softmax(log p / T)} is exact as long as
 * no probability underflowed (float32: logit gaps below about 87). For a sigmoid the logit is
 * recovered as {@code log(p / (1 - p))}, exact while float32 can tell p from 1 (logits below about 16).
 */
public final class TemperatureScaling {
    /** Smallest probability used when taking logarithms, so that an underflowed class stays finite. */
    private static final double TINY = 1e-45;
    private static final double MIN_T = 0.05;
    private static final double MAX_T = 20.0;

    private TemperatureScaling() {
    }

    /** Softmax probabilities re-scaled with temperature {@code t} (a new row). */
    public static double[] softmax(double[] probabilities, double t) {
        double[] z = new double[probabilities.length];
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < z.length; k++) {
            z[k] = Math.log(Math.max(TINY, probabilities[k])) / t;
            max = Math.max(max, z[k]);
        }
        double sum = 0;
        for (int k = 0; k < z.length; k++) {
            z[k] = Math.exp(z[k] - max);
            sum += z[k];
        }
        for (int k = 0; k < z.length; k++) {
            z[k] /= sum;
        }
        return z;
    }

    /** A sigmoid probability re-scaled with temperature {@code t}. */
    public static double sigmoid(double probability, double t) {
        double p = Math.min(1 - 1e-12, Math.max(1e-12, probability));
        double logit = Math.log(p / (1 - p)) / t;
        return 1 / (1 + Math.exp(-logit));
    }

    /**
     * Applies stored temperatures to one row: one temperature for a softmax row, one per column for
     * sigmoid (multi-label) rows. A null or empty {@code temperatures} returns the row unchanged.
     */
    public static double[] apply(double[] row, double[] temperatures, boolean multiLabel) {
        if (temperatures == null || temperatures.length == 0) {
            return row;
        }
        if (!multiLabel) {
            return softmax(row, temperatures[0]);
        }
        if (temperatures.length != row.length) {
            throw new ResNeXtException("the model has " + row.length + " findings but " + temperatures.length
                    + " calibration temperatures");
        }
        double[] out = new double[row.length];
        for (int k = 0; k < row.length; k++) {
            out[k] = sigmoid(row[k], temperatures[k]);
        }
        return out;
    }

    /** {@link #apply(double[], double[], boolean)} on every row (new rows). */
    public static double[][] apply(double[][] rows, double[] temperatures, boolean multiLabel) {
        if (temperatures == null || temperatures.length == 0) {
            return rows;
        }
        double[][] out = new double[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            out[i] = apply(rows[i], temperatures, multiLabel);
        }
        return out;
    }

    /** Mean negative log-likelihood of the true classes after scaling softmax rows with {@code t}. */
    public static double nll(double[][] probabilities, int[] labels, double t) {
        double sum = 0;
        for (int i = 0; i < probabilities.length; i++) {
            sum -= Math.log(Math.max(1e-15, softmax(probabilities[i], t)[labels[i]]));
        }
        return sum / probabilities.length;
    }

    /** Mean binary negative log-likelihood of column {@code k} after scaling it with {@code t}. */
    public static double nll(double[][] probabilities, int[][] targets, int k, double t) {
        double sum = 0;
        for (int i = 0; i < probabilities.length; i++) {
            double p = Math.min(1 - 1e-15, Math.max(1e-15, sigmoid(probabilities[i][k], t)));
            sum -= targets[i][k] == 1 ? Math.log(p) : Math.log(1 - p);
        }
        return sum / probabilities.length;
    }

    /** The temperature minimising the validation NLL of softmax rows. */
    public static double fit(double[][] probabilities, int[] labels) {
        if (probabilities.length == 0) {
            throw new ResNeXtException("cannot calibrate on no images");
        }
        return minimise(t -> nll(probabilities, labels, t));
    }

    /** One temperature per finding, each minimising that finding's validation NLL. */
    public static double[] fit(double[][] probabilities, int[][] targets) {
        if (probabilities.length == 0) {
            throw new ResNeXtException("cannot calibrate on no images");
        }
        double[] t = new double[probabilities[0].length];
        for (int k = 0; k < t.length; k++) {
            int column = k;
            t[k] = minimise(x -> nll(probabilities, targets, column, x));
        }
        return t;
    }

    /**
     * Golden-section search over log T in [{@value #MIN_T}, {@value #MAX_T}]; the NLL is unimodal in
     * T (convex in 1/T), so this finds the minimum to about 1e-6 relative without gradients.
     */
    static double minimise(java.util.function.DoubleUnaryOperator f) {
        double a = Math.log(MIN_T);
        double b = Math.log(MAX_T);
        double g = (Math.sqrt(5) - 1) / 2;
        double c = b - g * (b - a);
        double d = a + g * (b - a);
        double fc = f.applyAsDouble(Math.exp(c));
        double fd = f.applyAsDouble(Math.exp(d));
        for (int i = 0; i < 60 && b - a > 1e-7; i++) {
            if (fc < fd) {
                b = d;
                d = c;
                fd = fc;
                c = b - g * (b - a);
                fc = f.applyAsDouble(Math.exp(c));
            } else {
                a = c;
                c = d;
                fc = fd;
                d = a + g * (b - a);
                fd = f.applyAsDouble(Math.exp(d));
            }
        }
        double best = Math.exp((a + b) / 2);
        // keep T = 1 (no change) when scaling does not help at all, e.g. on a perfectly separated set
        return f.applyAsDouble(best) < f.applyAsDouble(1.0) ? best : 1.0;
    }
}
