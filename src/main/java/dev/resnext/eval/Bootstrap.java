package dev.resnext.eval;

import dev.resnext.ResNeXtException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Non-parametric bootstrap over images: resample the evaluated images with replacement, recompute
 * every metric, and report percentile intervals. Seeded, so the same call gives the same intervals.
 * Paired comparisons score two models on the same resamples.
 *
 * <p>A statistic may be undefined on a resample (e.g. sensitivity when no positive was drawn); such
 * resamples are left out of that metric's interval and the count of defined ones is reported.
 */
public final class Bootstrap {
    /** Confidence level of every interval. */
    public static final double LEVEL = 0.95;

    private Bootstrap() {
    }

    /**
     * A point estimate and its percentile interval.
     *
     * @param estimate  the metric on all images
     * @param lower     2.5th percentile of the resampled values
     * @param upper     97.5th percentile of the resampled values
     * @param defined   resamples on which the metric was defined
     */
    public record Interval(double estimate, double lower, double upper, int defined) {
        /** JSON-ready map, NaN as null. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("estimate", Inputs.jsonNumber(estimate));
            m.put("lower", Inputs.jsonNumber(lower));
            m.put("upper", Inputs.jsonNumber(upper));
            return m;
        }
    }

    /**
     * Every metric's interval.
     *
     * @param resamples number of bootstrap resamples
     * @param seed      seed of the resampling
     * @param level     confidence level
     * @param intervals metric name to interval, in the statistic's order
     */
    public record Result(int resamples, long seed, double level, Map<String, Interval> intervals) {
        /** JSON-ready map: method, level, resamples, seed, metrics {name: {estimate, lower, upper}}. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("method", "percentile bootstrap over images");
            m.put("level", level);
            m.put("resamples", resamples);
            m.put("seed", seed);
            Map<String, Object> metrics = new LinkedHashMap<>();
            intervals.forEach((k, v) -> metrics.put(k, v.toMap()));
            m.put("metrics", metrics);
            return m;
        }

        /** An aligned table: metric, estimate, interval. */
        public String toText() {
            StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                    "%.0f%% intervals (percentile bootstrap, %d resamples, seed %d)%n", level * 100, resamples, seed));
            TextTable t = new TextTable().row("metric", "estimate", "lower", "upper");
            intervals.forEach((k, v) -> t.row(k, TextTable.number(v.estimate()), TextTable.number(v.lower()),
                    TextTable.number(v.upper())));
            t.appendTo(out, "");
            return out.toString();
        }

        /** CSV rows (header first): metric, estimate, lower, upper, level, resamples, seed. */
        public List<List<String>> csvRows() {
            List<List<String>> rows = new ArrayList<>();
            rows.add(List.of("metric", "estimate", "lower", "upper", "level", "resamples", "seed"));
            intervals.forEach((k, v) -> rows.add(List.of(k, csvNumber(v.estimate()), csvNumber(v.lower()),
                    csvNumber(v.upper()), Double.toString(level), Integer.toString(resamples), Long.toString(seed))));
            return rows;
        }
    }

    /**
     * The difference between two models on the same images.
     *
     * @param a          metric of model A on all images
     * @param b          metric of model B on all images
     * @param difference {@code a - b} with its percentile interval
     * @param p          two-sided bootstrap p-value of "no difference" (share of resampled
     *                   differences on the other side of 0, doubled, at most 1)
     */
    public record Comparison(double a, double b, Interval difference, double p) {
        /** JSON-ready map. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("a", Inputs.jsonNumber(a));
            m.put("b", Inputs.jsonNumber(b));
            m.put("difference", difference.toMap());
            m.put("p", Inputs.jsonNumber(p));
            return m;
        }
    }

    /**
     * Percentile intervals of every metric a statistic returns.
     *
     * @param n         number of images
     * @param resamples number of resamples (at least 1)
     * @param statistic metric name to value for the images at the given indices (repeats allowed)
     */
    public static Result percentile(int n, int resamples, long seed, Function<int[], Map<String, Double>> statistic) {
        check(n, resamples);
        Map<String, Double> full = statistic.apply(identity(n));
        Map<String, double[]> samples = new LinkedHashMap<>();
        full.keySet().forEach(k -> samples.put(k, new double[resamples]));
        SplittableRandom random = new SplittableRandom(seed);
        for (int r = 0; r < resamples; r++) {
            Map<String, Double> values = statistic.apply(resample(n, random));
            for (Map.Entry<String, double[]> e : samples.entrySet()) {
                Double v = values.get(e.getKey());
                e.getValue()[r] = v == null ? Double.NaN : v;
            }
        }
        Map<String, Interval> intervals = new LinkedHashMap<>();
        for (Map.Entry<String, Double> e : full.entrySet()) {
            intervals.put(e.getKey(), interval(e.getValue(), samples.get(e.getKey())));
        }
        return new Result(resamples, seed, LEVEL, intervals);
    }

    /** Paired bootstrap of two models' metrics on the same resamples of the same images. */
    public static Map<String, Comparison> paired(int n, int resamples, long seed,
                                                 Function<int[], Map<String, Double>> a,
                                                 Function<int[], Map<String, Double>> b) {
        check(n, resamples);
        Map<String, Double> fullA = a.apply(identity(n));
        Map<String, Double> fullB = b.apply(identity(n));
        Map<String, double[]> diffs = new LinkedHashMap<>();
        for (String k : fullA.keySet()) {
            if (fullB.containsKey(k)) {
                diffs.put(k, new double[resamples]);
            }
        }
        SplittableRandom random = new SplittableRandom(seed);
        for (int r = 0; r < resamples; r++) {
            int[] idx = resample(n, random);
            Map<String, Double> va = a.apply(idx);
            Map<String, Double> vb = b.apply(idx);
            for (Map.Entry<String, double[]> e : diffs.entrySet()) {
                Double x = va.get(e.getKey());
                Double y = vb.get(e.getKey());
                e.getValue()[r] = x == null || y == null ? Double.NaN : x - y;
            }
        }
        Map<String, Comparison> out = new LinkedHashMap<>();
        for (Map.Entry<String, double[]> e : diffs.entrySet()) {
            double x = fullA.get(e.getKey());
            double y = fullB.get(e.getKey());
            double[] d = e.getValue();
            long below = 0;
            long above = 0;
            long defined = 0;
            for (double v : d) {
                if (Double.isNaN(v)) continue;
                defined++;
                if (v <= 0) below++;
                if (v >= 0) above++;
            }
            double p = defined == 0 ? Double.NaN : Math.min(1.0, 2.0 * Math.min(below, above) / defined);
            out.put(e.getKey(), new Comparison(x, y, interval(x - y, d), p));
        }
        return out;
    }

    /** An aligned table of paired comparisons: metric, A, B, A - B, its interval, p. */
    public static String comparisonText(Map<String, Comparison> paired) {
        StringBuilder out = new StringBuilder();
        TextTable t = new TextTable().row("metric", "A", "B", "A - B", "95% interval", "p");
        paired.forEach((k, v) -> t.row(k, TextTable.number(v.a()), TextTable.number(v.b()),
                TextTable.number(v.difference().estimate()), "[" + TextTable.number(v.difference().lower()) + ", "
                        + TextTable.number(v.difference().upper()) + "]", TextTable.number(v.p())));
        t.appendTo(out, "");
        return out.toString();
    }

    static Interval interval(double estimate, double[] values) {
        double[] defined = Arrays.stream(values).filter(v -> !Double.isNaN(v)).sorted().toArray();
        if (defined.length == 0) {
            return new Interval(estimate, Double.NaN, Double.NaN, 0);
        }
        double alpha = (1 - LEVEL) / 2;
        return new Interval(estimate, quantile(defined, alpha), quantile(defined, 1 - alpha), defined.length);
    }

    /** Linear interpolation between order statistics (numpy's default percentile). */
    static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    static int[] resample(int n, SplittableRandom random) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = random.nextInt(n);
        }
        return idx;
    }

    static int[] identity(int n) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        return idx;
    }

    private static void check(int n, int resamples) {
        if (n < 1) {
            throw new ResNeXtException("cannot bootstrap no images");
        }
        if (resamples < 1) {
            throw new ResNeXtException("the number of bootstrap resamples must be at least 1, was " + resamples);
        }
    }

    private static String csvNumber(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6f", v);
    }
}
