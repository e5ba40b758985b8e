package dev.resnext.eval;

import dev.resnext.ResNeXtException;
import dev.resnext.io.AtomicFiles;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * PNG charts of an evaluation or a training run: training curves, confusion matrix and ROC curves.
 * Rendering needs no display (the JVM is switched to headless mode unless told otherwise) and every
 * PNG is written atomically through {@link AtomicFiles}, so that a reader never sees half an image.
 * Invalid input throws {@link ResNeXtException}.
 */
public final class Charts {

    static {
        // A server or CI machine has no display; AWT must not try to open one. Only set when the user
        // has not chosen, and before the first AWT class initialises.
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /** Twenty distinguishable colours (Tableau 20 order: strong colours first, then their light twins). */
    private static final Color[] PALETTE = {
            new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44), new Color(214, 39, 40),
            new Color(148, 103, 189), new Color(140, 86, 75), new Color(227, 119, 194), new Color(127, 127, 127),
            new Color(188, 189, 34), new Color(23, 190, 207), new Color(174, 199, 232), new Color(255, 187, 120),
            new Color(152, 223, 138), new Color(255, 152, 150), new Color(197, 176, 213), new Color(196, 156, 148),
            new Color(247, 182, 210), new Color(199, 199, 199), new Color(219, 219, 141), new Color(158, 218, 229)};

    private static final int CURVE_WIDTH = 900;
    private static final int CURVE_PANEL_HEIGHT = 380;
    private static final int LR_PANEL_HEIGHT = 260;
    private static final int ROC_SIZE = 700;
    private static final int ROC_LEGEND_WIDTH = 260;
    private static final int MAX_LABEL_CHARS = 28;

    private Charts() {
    }

    // ------------------------------------------------------------------ training curves

    /**
     * Training curves as one PNG of stacked panels sharing the epoch axis: losses (every key ending in
     * "loss"), scores (keys containing "acc" or "auc") and, when present, the learning rate ("lr" or
     * "learning_rate", log scale). Values may be numbers, numeric strings, null or NaN; missing ones
     * are skipped. The x value is the row's "epoch", or its 1-based position when absent.
     *
     * @throws ResNeXtException when no row holds a plottable value
     */
    public static void writeTrainingCurves(Path png, List<Map<String, Object>> epochRows) {
        if (epochRows == null || epochRows.isEmpty()) {
            throw new ResNeXtException("no epochs to plot");
        }
        Set<String> keys = new LinkedHashSet<>();
        for (Map<String, Object> row : epochRows) {
            if (row != null) {
                keys.addAll(row.keySet());
            }
        }
        List<String> lossKeys = new ArrayList<>();
        List<String> scoreKeys = new ArrayList<>();
        List<String> rateKeys = new ArrayList<>();
        for (String key : keys) {
            String k = key.toLowerCase(Locale.ROOT);
            if (k.equals("epoch")) {
                continue;
            }
            if (k.endsWith("loss")) {
                lossKeys.add(key);
            } else if (k.contains("acc") || k.contains("auc")) {
                scoreKeys.add(key);
            } else if (k.equals("lr") || k.equals("learning_rate") || k.equals("learningrate")) {
                rateKeys.add(key);
            }
        }
        double[] epochs = new double[epochRows.size()];
        for (int i = 0; i < epochs.length; i++) {
            Map<String, Object> row = epochRows.get(i);
            double epoch = row == null ? Double.NaN : toDouble(row.get("epoch"));
            epochs[i] = Double.isFinite(epoch) ? epoch : i + 1;
        }
        List<XYChart> panels = new ArrayList<>();
        // legends sit inside, where curves rarely go late in training (losses fall, scores rise), so that
        // every panel has the same plot width and the epochs line up
        XYChart loss = curvePanel("Loss", "loss", CURVE_PANEL_HEIGHT, epochRows, epochs, lossKeys, false,
                Styler.LegendPosition.InsideNE);
        if (loss != null) {
            panels.add(loss);
        }
        XYChart scores = curvePanel("Accuracy and AUC", "score", CURVE_PANEL_HEIGHT, epochRows, epochs, scoreKeys,
                false, Styler.LegendPosition.InsideSE);
        if (scores != null) {
            panels.add(scores);
        }
        XYChart rate = curvePanel("Learning rate", "learning rate", LR_PANEL_HEIGHT, epochRows, epochs, rateKeys,
                true, Styler.LegendPosition.InsideNE);
        if (rate != null) {
            panels.add(rate);
        }
        if (panels.isEmpty()) {
            throw new ResNeXtException("no loss, accuracy, AUC or learning-rate values to plot");
        }
        List<BufferedImage> images = new ArrayList<>();
        int height = 0;
        for (XYChart panel : panels) {
            BufferedImage image = BitmapEncoder.getBufferedImage(panel);
            images.add(image);
            height += image.getHeight();
        }
        BufferedImage combined = new BufferedImage(CURVE_WIDTH, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = combined.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, CURVE_WIDTH, height);
            int y = 0;
            for (BufferedImage image : images) {
                g.drawImage(image, 0, y, null);
                y += image.getHeight();
            }
        } finally {
            g.dispose();
        }
        writePng(png, combined);
    }

    /** One panel with a series per key, or null when none of the keys has a value. */
    private static XYChart curvePanel(String title, String yTitle, int height, List<Map<String, Object>> rows,
                                      double[] epochs, List<String> keys, boolean logScale,
                                      Styler.LegendPosition legendPosition) {
        XYChart chart = new XYChartBuilder().width(CURVE_WIDTH).height(height).title(title).xAxisTitle("epoch")
                .yAxisTitle(yTitle).build();
        XYStyler styler = chart.getStyler();
        baseStyle(styler);
        styler.setLegendPosition(legendPosition);
        styler.setXAxisDecimalPattern("#0.##");
        styler.setMarkerSize(5);
        boolean allPositive = true;
        Map<String, double[][]> series = new LinkedHashMap<>();
        for (String key : keys) {
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            for (int i = 0; i < rows.size(); i++) {
                double v = rows.get(i) == null ? Double.NaN : toDouble(rows.get(i).get(key));
                if (Double.isFinite(v)) {
                    xs.add(epochs[i]);
                    ys.add(v);
                    allPositive &= v > 0;
                }
            }
            if (!xs.isEmpty()) {
                series.put(key, new double[][]{unbox(xs), unbox(ys)});
            }
        }
        if (series.isEmpty()) {
            return null;
        }
        // a logarithmic axis shows a schedule spanning decades, but cannot show zero or negative values
        styler.setYAxisLogarithmic(logScale && allPositive);
        for (Map.Entry<String, double[][]> e : series.entrySet()) {
            XYSeries s = chart.addSeries(e.getKey(), e.getValue()[0], e.getValue()[1]);
            s.setMarker(SeriesMarkers.CIRCLE);
        }
        return chart;
    }

    // ------------------------------------------------------------------ confusion matrix

    /**
     * Confusion matrix as a heat map (rows = true class, columns = predicted class). Each cell shows its
     * count, and on larger cells the share of its row; the colour is that row share, so that the
     * recall of a small class reads as clearly as that of a large one. Readable for 2 to 20 classes
     * (larger matrices are drawn with small cells).
     *
     * <p>Drawn with Java2D rather than XChart's heat map, which colours by the raw value and writes every
     * cell in one colour, unreadable on dark cells.
     *
     * @param labels class names in index order, or null for "0".."K-1"
     */
    public static void writeConfusionMatrix(Path png, int[][] confusionMatrix, List<String> labels) {
        if (confusionMatrix == null || confusionMatrix.length == 0) {
            throw new ResNeXtException("empty confusion matrix");
        }
        int k = confusionMatrix.length;
        long total = 0;
        long[] rowTotals = new long[k];
        for (int i = 0; i < k; i++) {
            if (confusionMatrix[i] == null || confusionMatrix[i].length != k) {
                throw new ResNeXtException("confusion matrix must be square: row " + i + " does not have " + k
                        + " counts");
            }
            for (int count : confusionMatrix[i]) {
                if (count < 0) {
                    throw new ResNeXtException("confusion matrix holds a negative count " + count);
                }
                rowTotals[i] += count;
            }
            total += rowTotals[i];
        }
        List<String> names = new ArrayList<>();
        for (String name : Inputs.names(labels, k, "class")) {
            names.add(name.length() <= MAX_LABEL_CHARS ? name : name.substring(0, MAX_LABEL_CHARS - 1) + "…");
        }

        int cell = Math.max(40, Math.min(110, 720 / k));
        Font countFont = new Font(Font.SANS_SERIF, Font.BOLD, Math.max(10, Math.min(20, (int) (cell / 3.5))));
        Font shareFont = new Font(Font.SANS_SERIF, Font.PLAIN, Math.max(9, countFont.getSize() - 5));
        boolean showShare = cell >= 56;
        Font labelFont = new Font(Font.SANS_SERIF, Font.PLAIN, k > 12 ? 11 : 13);
        Font axisFont = new Font(Font.SANS_SERIF, Font.BOLD, 13);
        Font titleFont = new Font(Font.SANS_SERIF, Font.BOLD, 16);
        Font noteFont = new Font(Font.SANS_SERIF, Font.PLAIN, 11);
        String title = "Confusion matrix (n = " + total + ")";
        String note = "colour = share of the true class's samples";

        // measure text on a scratch image to size the layout
        BufferedImage scratch = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D measure = scratch.createGraphics();
        FontMetrics labelMetrics = measure.getFontMetrics(labelFont);
        FontMetrics axisMetrics = measure.getFontMetrics(axisFont);
        FontMetrics titleMetrics = measure.getFontMetrics(titleFont);
        FontMetrics noteMetrics = measure.getFontMetrics(noteFont);
        int longestLabel = 0;
        for (String name : names) {
            longestLabel = Math.max(longestLabel, labelMetrics.stringWidth(name));
        }
        int titleWidth = Math.max(titleMetrics.stringWidth(title), noteMetrics.stringWidth(note));
        measure.dispose();

        int pad = 12;
        boolean verticalColumnLabels = longestLabel > cell - 6;
        int columnLabelHeight = verticalColumnLabels ? longestLabel : labelMetrics.getHeight();
        int grid = cell * k;
        int left = pad + axisMetrics.getHeight() + pad + longestLabel + pad;
        int top = pad + titleMetrics.getHeight() + noteMetrics.getHeight() + pad;
        int bottom = pad + columnLabelHeight + pad + axisMetrics.getHeight() + pad;
        int width = Math.max(left + grid + 2 * pad, titleWidth + 2 * pad);
        int height = top + grid + bottom;

        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);

            g.setColor(Color.BLACK);
            g.setFont(titleFont);
            int y = pad + titleMetrics.getAscent();
            g.drawString(title, (width - titleMetrics.stringWidth(title)) / 2, y);
            g.setFont(noteFont);
            g.setColor(Color.DARK_GRAY);
            g.drawString(note, (width - noteMetrics.stringWidth(note)) / 2, y + noteMetrics.getHeight());

            for (int i = 0; i < k; i++) {
                for (int j = 0; j < k; j++) {
                    int count = confusionMatrix[i][j];
                    double share = rowTotals[i] == 0 ? 0 : (double) count / rowTotals[i];
                    Color fill = blues(share);
                    int x0 = left + j * cell;
                    int y0 = top + i * cell;
                    g.setColor(fill);
                    g.fillRect(x0, y0, cell, cell);
                    g.setColor(new Color(210, 210, 210));
                    g.drawRect(x0, y0, cell, cell);
                    g.setColor(luminance(fill) < 0.5 ? Color.WHITE : Color.BLACK);
                    String countText = Integer.toString(count);
                    FontMetrics cm = g.getFontMetrics(countFont);
                    FontMetrics sm = g.getFontMetrics(shareFont);
                    int blockHeight = cm.getAscent() + (showShare ? sm.getHeight() : 0);
                    int baseline = y0 + (cell - blockHeight) / 2 + cm.getAscent();
                    g.setFont(countFont);
                    g.drawString(countText, x0 + (cell - cm.stringWidth(countText)) / 2, baseline);
                    if (showShare && rowTotals[i] > 0) {
                        String shareText = String.format(Locale.ROOT, "%.1f%%", 100 * share);
                        g.setFont(shareFont);
                        g.drawString(shareText, x0 + (cell - sm.stringWidth(shareText)) / 2,
                                baseline + sm.getHeight());
                    }
                }
            }

            g.setColor(Color.BLACK);
            g.setFont(labelFont);
            for (int i = 0; i < k; i++) {
                String name = names.get(i);
                int rowBaseline = top + i * cell + (cell + labelMetrics.getAscent() - labelMetrics.getDescent()) / 2;
                g.drawString(name, left - pad - labelMetrics.stringWidth(name), rowBaseline);
                int columnCentre = left + i * cell + cell / 2;
                if (verticalColumnLabels) {
                    // read bottom-to-top, ending just under the grid
                    AffineTransform saved = g.getTransform();
                    g.translate(columnCentre + (labelMetrics.getAscent() - labelMetrics.getDescent()) / 2.0,
                            top + grid + pad + labelMetrics.stringWidth(name));
                    g.rotate(-Math.PI / 2);
                    g.drawString(name, 0, 0);
                    g.setTransform(saved);
                } else {
                    g.drawString(name, columnCentre - labelMetrics.stringWidth(name) / 2,
                            top + grid + pad + labelMetrics.getAscent());
                }
            }

            g.setFont(axisFont);
            String predicted = "predicted class";
            g.drawString(predicted, left + (grid - axisMetrics.stringWidth(predicted)) / 2,
                    top + grid + pad + columnLabelHeight + pad + axisMetrics.getAscent());
            String actual = "true class";
            AffineTransform saved = g.getTransform();
            g.translate(pad + axisMetrics.getAscent(), top + (grid + axisMetrics.stringWidth(actual)) / 2.0);
            g.rotate(-Math.PI / 2);
            g.drawString(actual, 0, 0);
            g.setTransform(saved);
        } finally {
            g.dispose();
        }
        writePng(png, image);
    }

    /** White to dark blue, like matplotlib's "Blues" map, for a share in [0, 1]. */
    private static Color blues(double share) {
        double t = Math.max(0, Math.min(1, share));
        int r = (int) Math.round(247 + t * (8 - 247));
        int g = (int) Math.round(251 + t * (48 - 251));
        int b = (int) Math.round(255 + t * (107 - 255));
        return new Color(r, g, b);
    }

    private static double luminance(Color c) {
        return (0.299 * c.getRed() + 0.587 * c.getGreen() + 0.114 * c.getBlue()) / 255.0;
    }

    // ------------------------------------------------------------------ ROC curves

    /**
     * ROC curves of a single-label task: for two classes the curve of class 1 (the MedMNIST binary AUC),
     * otherwise one one-vs-rest curve per class. Classes absent from the labels (AUC undefined) are
     * left out. The title carries the MedMNIST AUC.
     *
     * @param classNames class names in index order, or null for "0".."K-1"
     */
    public static void writeRocCurves(Path png, double[][] probabilities, int[] labels, List<String> classNames) {
        ClassificationMetrics metrics = ClassificationMetrics.compute(probabilities, labels, classNames);
        List<String> names = metrics.classNames();
        Map<String, RocCurve> curves = new LinkedHashMap<>();
        if (metrics.isBinary()) {
            curves.put(names.get(1), RocCurve.oneVsRest(probabilities, labels, 1));
        } else {
            for (int c = 0; c < names.size(); c++) {
                curves.put(names.get(c), RocCurve.oneVsRest(probabilities, labels, c));
            }
        }
        String title = (metrics.isBinary() ? "ROC of " + names.get(1) : "One-vs-rest ROC") + ", AUC = "
                + TextTable.number(metrics.auc());
        writeRocCurves(png, curves, title);
    }

    /** ROC curves of a multi-label task, one per label; the title carries the mean AUC (MedMNIST). */
    public static void writeMultiLabelRocCurves(Path png, double[][] probabilities, int[][] targets,
                                                List<String> labelNames) {
        MultiLabelMetrics metrics = MultiLabelMetrics.compute(probabilities, targets, labelNames);
        Map<String, RocCurve> curves = new LinkedHashMap<>();
        for (int j = 0; j < metrics.labelNames().size(); j++) {
            curves.put(metrics.labelNames().get(j), RocCurve.forLabel(probabilities, targets, j));
        }
        writeRocCurves(png, curves, "ROC per label, mean AUC = " + TextTable.number(metrics.auc()));
    }

    /**
     * ROC curves, one per entry (legend "name (AUC 0.xxxx)"), with the diagonal of a chance-level
     * classifier. Curves that are not {@link RocCurve#isDefined() defined} are left out.
     *
     * @throws ResNeXtException when no curve is defined
     */
    public static void writeRocCurves(Path png, Map<String, RocCurve> curvesByName, String title) {
        if (curvesByName == null || curvesByName.isEmpty()) {
            throw new ResNeXtException("no ROC curve to draw");
        }
        long defined = curvesByName.values().stream().filter(c -> c != null && c.isDefined()).count();
        if (defined == 0) {
            throw new ResNeXtException("no ROC curve to draw: every class lacks positive or negative samples");
        }
        boolean legendOutside = defined > 6;
        XYChart chart = new XYChartBuilder().width(ROC_SIZE + (legendOutside ? ROC_LEGEND_WIDTH : 0)).height(ROC_SIZE)
                .title(title == null ? "ROC" : title).xAxisTitle("false positive rate (1 - specificity)")
                .yAxisTitle("true positive rate (sensitivity)").build();
        XYStyler styler = chart.getStyler();
        baseStyle(styler);
        styler.setLegendPosition(legendOutside ? Styler.LegendPosition.OutsideE : Styler.LegendPosition.InsideSE);
        styler.setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0);
        styler.setXAxisDecimalPattern("0.0").setYAxisDecimalPattern("0.0");
        styler.setMarkerSize(0);
        Iterator<Map.Entry<String, RocCurve>> it = curvesByName.entrySet().iterator();
        Set<String> usedNames = new LinkedHashSet<>();
        while (it.hasNext()) {
            Map.Entry<String, RocCurve> e = it.next();
            RocCurve roc = e.getValue();
            if (roc == null || !roc.isDefined()) {
                continue;
            }
            String name = e.getKey() + " (AUC " + String.format(Locale.ROOT, "%.4f", roc.auc()) + ")";
            // XChart rejects duplicate series names; two classes can share a name after truncation
            while (!usedNames.add(name)) {
                name = name + " ";
            }
            XYSeries s = chart.addSeries(name, roc.fpr(), roc.tpr());
            s.setMarker(SeriesMarkers.NONE);
            s.setLineWidth(2f);
        }
        XYSeries chance = chart.addSeries("chance", new double[]{0, 1}, new double[]{0, 1});
        chance.setMarker(SeriesMarkers.NONE);
        chance.setLineColor(Color.GRAY);
        chance.setLineStyle(SeriesLines.DASH_DASH);
        writePng(png, BitmapEncoder.getBufferedImage(chart));
    }

    // ------------------------------------------------------------------ reliability diagram

    /**
     * Reliability diagram: observed frequency against mean confidence per non-empty bin, with the
     * diagonal of perfect calibration; the title carries the ECE and the Brier score.
     */
    public static void writeReliabilityDiagram(Path png, CalibrationMetrics c, String title) {
        List<Double> x = new java.util.ArrayList<>();
        List<Double> y = new java.util.ArrayList<>();
        for (int b = 0; b < c.bins(); b++) {
            if (c.counts()[b] > 0) {
                x.add(c.confidence()[b]);
                y.add(c.observed()[b]);
            }
        }
        if (x.isEmpty()) {
            throw new ResNeXtException("no prediction to draw a reliability diagram of");
        }
        XYChart chart = new XYChartBuilder().width(ROC_SIZE).height(ROC_SIZE)
                .title((title == null ? "Reliability" : title) + String.format(Locale.ROOT,
                        ", ECE (%d bins) %.4f, Brier %.4f", c.bins(), c.ece(), c.brier()))
                .xAxisTitle("mean predicted probability (confidence)").yAxisTitle("observed frequency").build();
        XYStyler styler = chart.getStyler();
        baseStyle(styler);
        styler.setLegendPosition(Styler.LegendPosition.InsideSE);
        styler.setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0);
        styler.setXAxisDecimalPattern("0.0").setYAxisDecimalPattern("0.0");
        XYSeries s = chart.addSeries("model", unbox(x), unbox(y));
        s.setMarker(SeriesMarkers.CIRCLE);
        s.setLineWidth(2f);
        XYSeries perfect = chart.addSeries("perfectly calibrated", new double[]{0, 1}, new double[]{0, 1});
        perfect.setMarker(SeriesMarkers.NONE);
        perfect.setLineColor(Color.GRAY);
        perfect.setLineStyle(SeriesLines.DASH_DASH);
        writePng(png, BitmapEncoder.getBufferedImage(chart));
    }

    // ------------------------------------------------------------------ shared

    private static void baseStyle(XYStyler styler) {
        styler.setChartBackgroundColor(Color.WHITE);
        styler.setPlotBackgroundColor(Color.WHITE);
        styler.setPlotGridLinesColor(new Color(225, 225, 225));
        styler.setLegendBorderColor(new Color(200, 200, 200));
        styler.setSeriesColors(PALETTE);
        styler.setAntiAlias(true);
    }

    /**
     * Encodes {@code image} as PNG into {@code png} atomically (temporary file in the same folder, then
     * an atomic rename). The encoder caches in memory, not in a temporary file elsewhere.
     */
    static void writePng(Path png, BufferedImage image) {
        if (png == null) {
            throw new ResNeXtException("no output path for the chart");
        }
        AtomicFiles.write(png, out -> {
            Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("png");
            if (!writers.hasNext()) {
                throw new IOException("this Java runtime has no PNG encoder");
            }
            ImageWriter writer = writers.next();
            try (ImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
                writer.setOutput(stream);
                writer.write(image);
            } finally {
                writer.dispose();
            }
        });
    }

    private static double toDouble(Object value) {
        if (value instanceof Number number) {
            return number.doubleValue();
        }
        if (value instanceof String text) {
            try {
                return Double.parseDouble(text.trim());
            } catch (NumberFormatException e) {
                return Double.NaN;
            }
        }
        return Double.NaN;
    }

    private static double[] unbox(List<Double> values) {
        double[] out = new double[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }
}
