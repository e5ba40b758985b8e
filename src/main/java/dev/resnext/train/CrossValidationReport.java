package dev.resnext.train;

import dev.resnext.io.AtomicFiles;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The result of K-fold cross-validation beside the fold models: {@code NAME.cv.json} (per fold and
 * mean +- sample standard deviation of every validation metric), {@code NAME.cv.csv} (one row per fold,
 * then mean and sd) and {@code NAME.cv.png} (the main metrics per fold with their mean).
 */
public final class CrossValidationReport {
    private static final Logger log = LoggerFactory.getLogger(CrossValidationReport.class);

    private CrossValidationReport() {
    }

    /** Mean and sample standard deviation (n - 1) of the numeric values of {@code key} over {@code rows}. */
    static double[] meanSd(List<Map<String, Object>> rows, String key) {
        List<Double> v = new ArrayList<>();
        for (Map<String, Object> r : rows) {
            if (r.get(key) instanceof Number x && Double.isFinite(x.doubleValue())) v.add(x.doubleValue());
        }
        if (v.isEmpty()) return null;
        double mean = v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        double ss = 0;
        for (double x : v) ss += (x - mean) * (x - mean);
        double sd = v.size() > 1 ? Math.sqrt(ss / (v.size() - 1)) : 0;
        return new double[] {mean, sd};
    }

    /**
     * Writes the three files and returns the summary written to the JSON.
     *
     * @param modelZip the run's model path; files are named after it
     * @param folds    one row per fold: fold number, image counts, then its best validation metrics
     */
    public static Map<String, Object> write(Path modelZip, List<Map<String, Object>> folds, Map<String, Object> split) {
        Set<String> metricKeys = new LinkedHashSet<>();
        for (Map<String, Object> r : folds) {
            for (Map.Entry<String, Object> e : r.entrySet()) {
                // the metrics, not the bookkeeping (epoch, learning rate, seconds, image counts)
                if (e.getValue() instanceof Number && (e.getKey().startsWith("val_") || e.getKey().equals("train_loss"))) {
                    metricKeys.add(e.getKey());
                }
            }
        }
        Map<String, Object> mean = new LinkedHashMap<>();
        Map<String, Object> sd = new LinkedHashMap<>();
        for (String k : metricKeys) {
            double[] ms = meanSd(folds, k);
            if (ms != null) {
                mean.put(k, ms[0]);
                sd.put(k, ms[1]);
            }
        }
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("folds", folds.size());
        summary.put("split", split);
        summary.put("perFold", folds);
        summary.put("mean", mean);
        summary.put("sd", sd);
        try {
            AtomicFiles.writeString(MetricsFiles.sibling(modelZip, ".cv.json"),
                    Trainer.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(summary));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        List<String> cols = new ArrayList<>();
        for (Map<String, Object> r : folds) for (String k : r.keySet()) if (!cols.contains(k)) cols.add(k);
        StringBuilder csv = new StringBuilder();
        try (CSVPrinter p = new CSVPrinter(csv, CSVFormat.RFC4180.builder().setRecordSeparator('\n').build())) {
            p.printRecord(cols);
            for (Map<String, Object> r : folds) p.printRecord(cols.stream().map(c -> cell(r.get(c))).toList());
            for (String which : List.of("mean", "sd")) {
                Map<String, Object> m = which.equals("mean") ? mean : sd;
                List<String> cells = new ArrayList<>();
                for (String c : cols) cells.add(c.equals("fold") ? which : m.containsKey(c) ? cell(m.get(c)) : "");
                p.printRecord(cells);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        AtomicFiles.writeString(MetricsFiles.sibling(modelZip, ".cv.csv"), csv.toString());
        try {
            plot(MetricsFiles.sibling(modelZip, ".cv.png"), folds, metricKeys, mean, sd);
        } catch (RuntimeException e) {
            log.warn("could not draw the cross-validation plot: {}", e.getMessage());
        }
        return summary;
    }

    private static String cell(Object v) {
        if (v == null) return "";
        return v instanceof Double d ? String.format(Locale.ROOT, "%.6g", d) : String.valueOf(v);
    }

    /** Bar chart of the [0,1] metrics (accuracy, AUC, ...) per fold, with the mean as a last group. */
    private static void plot(Path png, List<Map<String, Object>> folds, Set<String> keys, Map<String, Object> mean,
                             Map<String, Object> sd) {
        List<String> shown = new ArrayList<>();
        for (String k : keys) {
            String lk = k.toLowerCase(Locale.ROOT);
            if (!lk.contains("loss") && (lk.contains("auc") || lk.contains("acc")) && mean.get(k) instanceof Double m
                    && m >= 0 && m <= 1) {
                shown.add(k);
            }
        }
        if (shown.isEmpty()) return;
        CategoryChart chart = new CategoryChartBuilder().width(900).height(480)
                .title(folds.size() + "-fold cross-validation (mean +- sd)").xAxisTitle("fold").yAxisTitle("value")
                .build();
        chart.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
        List<String> categories = new ArrayList<>();
        for (Map<String, Object> r : folds) categories.add("fold " + r.get("fold"));
        categories.add("mean");
        for (String k : shown) {
            List<Double> ys = new ArrayList<>();
            List<Double> err = new ArrayList<>();
            for (Map<String, Object> r : folds) {
                ys.add(r.get(k) instanceof Number n ? n.doubleValue() : 0.0);
                err.add(0.0);
            }
            ys.add((Double) mean.get(k));
            err.add((Double) sd.get(k));
            chart.addSeries(k, categories, ys, err);
        }
        BufferedImage img = BitmapEncoder.getBufferedImage(chart);
        AtomicFiles.write(png, out -> javax.imageio.ImageIO.write(img, "png", out));
    }
}
