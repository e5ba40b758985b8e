package dev.resnext.train;

import dev.resnext.eval.Charts;
import dev.resnext.io.AtomicFiles;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-epoch metrics beside the model zip: {@code NAME.metrics.csv}, {@code NAME.metrics.json} and a
 * plot of the training curves, {@code NAME.curves.png}. Rewritten atomically after every epoch.
 */
public final class MetricsFiles {
    private static final Logger log = LoggerFactory.getLogger(MetricsFiles.class);

    private MetricsFiles() {
    }

    /** The path of a file beside {@code modelZip} with {@code suffix} instead of ".zip". */
    public static Path sibling(Path modelZip, String suffix) {
        String name = modelZip.getFileName().toString();
        String base = name.endsWith(".zip") ? name.substring(0, name.length() - 4) : name;
        return modelZip.toAbsolutePath().resolveSibling(base + suffix);
    }

    /** Writes CSV, JSON and PNG for {@code rows}. */
    public static void write(Path modelZip, List<Map<String, Object>> rows) {
        if (rows.isEmpty()) return;
        List<String> cols = new ArrayList<>(rows.get(0).keySet());
        StringBuilder csv = new StringBuilder();
        try (CSVPrinter p = new CSVPrinter(csv, CSVFormat.RFC4180.builder().setRecordSeparator('\n').build())) {
            p.printRecord(cols);
            for (Map<String, Object> r : rows) {
                List<String> cells = new ArrayList<>();
                for (String c : cols) {
                    Object v = r.get(c);
                    cells.add(v instanceof Double d ? String.format(Locale.ROOT, "%.6g", d) : String.valueOf(v));
                }
                p.printRecord(cells);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e); // a StringBuilder does not fail
        }
        AtomicFiles.writeString(sibling(modelZip, ".metrics.csv"), csv.toString());
        try {
            AtomicFiles.writeString(sibling(modelZip, ".metrics.json"),
                    Trainer.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(rows));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        try {
            Charts.writeTrainingCurves(sibling(modelZip, ".curves.png"), rows);
        } catch (RuntimeException e) {
            log.warn("could not draw the training curves: {}", e.getMessage());
        }
    }
}
