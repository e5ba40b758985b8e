package dev.resnext.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Small order statistics over step times. */
final class Stats {
    private Stats() {
    }

    /** Median; the mean of the two middle values for an even count (as Python's statistics.median). */
    static double median(List<Double> values) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> s = new ArrayList<>(values);
        Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2.0;
    }

    /**
     * The {@code q}-quantile (0..1) with linear interpolation between order statistics (numpy's
     * default), so that p50 equals the median.
     */
    static double quantile(List<Double> values, double q) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> s = new ArrayList<>(values);
        Collections.sort(s);
        double pos = q * (s.size() - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(s.size() - 1, lo + 1);
        return s.get(lo) + (pos - lo) * (s.get(hi) - s.get(lo));
    }

    static double min(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    }

    static double max(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }
}
