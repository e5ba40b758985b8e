package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.api.Prediction;
import dev.resnext.api.ResNeXtClassifier;
import dev.resnext.data.ImageDecoder;
import dev.resnext.eval.TestTimeAugmentation;
import dev.resnext.runtime.inference.InferencePlan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** {@code resnext predict}: labels and probabilities for image files. */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Classify image files (or every image under folders) with a model zip; prints one row per "
                + "image with the predicted label, its probability and the top-K classes.")
public final class PredictCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(PredictCommand.class);

    @Option(names = "--model", required = true, paramLabel = "MODEL.zip", description = "Model zip.")
    Path model;

    @Parameters(arity = "1..*", paramLabel = "FILE|DIR|FILE.npz",
            description = "Images, folders searched recursively, or .npz files (every image of --split).")
    List<Path> inputs;

    @Option(names = "--split", paramLabel = "NAME", defaultValue = "test",
            description = "Split of .npz inputs (default: ${DEFAULT-VALUE}).")
    String split = "test";

    @Option(names = "--top", paramLabel = "K", defaultValue = "1", description = "Classes listed per image (default: ${DEFAULT-VALUE}).")
    int top = 1;

    @Option(names = "--format", paramLabel = "csv|json", defaultValue = "csv", description = "Output format (default: ${DEFAULT-VALUE}).")
    String format = "csv";

    @Option(names = "--batch", paramLabel = "N", defaultValue = "32", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 32;

    @Option(names = "--threshold", paramLabel = "T[,T2,...]", split = ",",
            description = "Decide at this threshold instead of the model's stored operating point: binary models "
                    + "call class 1 when its probability exceeds T; multi-label models take one T for every "
                    + "finding or one per finding.")
    double[] threshold;

    @Option(names = "--tta", paramLabel = "flip[,shift]",
            description = "Test-time augmentation: average the probabilities of the image and its mirror image "
                    + "(flip) and/or four shifted copies (shift).")
    String tta;

    @Mixin
    PrecisionOption precision = new PrecisionOption();

    @Option(names = "--skip-unreadable", description = "Skip files that cannot be decoded (reported) instead of failing.")
    boolean skipUnreadable;

    @Mixin
    BackendOption backend = new BackendOption();

    @Mixin
    ImageLimitOption imageLimit = new ImageLimitOption();

    @Override
    public Integer call() {
        imageLimit.apply();
        if (top < 1) throw new IllegalArgumentException("--top must be at least 1, was " + top);
        if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, was " + batch);
        String fmt = format.toLowerCase(Locale.ROOT);
        if (!fmt.equals("csv") && !fmt.equals("json")) {
            throw new IllegalArgumentException("--format must be csv or json, was " + format);
        }
        List<Item> files = items(inputs, split);
        backend.initialize();
        TestTimeAugmentation views = TestTimeAugmentation.parse(tta);
        InferencePlan.Precision numbers = precision.value();
        ResNeXtClassifier clf = ResNeXtClassifier.load(model, numbers).withTta(views);
        if (threshold != null) {
            clf = clf.withThresholds(threshold);
        }
        boolean multiLabel = clf.metadata().config().isMultiLabel();
        log.info("decision: {}{}; probabilities {}{}", clf.thresholds() == null ? "arg-max"
                        : "threshold " + Arrays.toString(clf.thresholds()) + " ",
                clf.thresholds() == null ? "" : clf.thresholdSource(),
                clf.calibrated() ? "calibrated (stored temperature scaling)" : "uncalibrated",
                views.viewCount() > 1 ? ", averaged over " + views.viewCount() + " test-time views" : "");
        int k = Math.min(top, clf.labels().size());
        long start = System.nanoTime();
        List<Map<String, Object>> rows = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        PrintStream out = System.out;
        CSVPrinter csv = null;
        if (fmt.equals("csv")) {
            List<String> header = new ArrayList<>(List.of("file", "label", "probability"));
            if (multiLabel) {
                header.add("findings");
            }
            for (int i = 1; i <= k && k > 1; i++) {
                header.add("top" + i);
                header.add("p" + i);
            }
            // RFC 4180 quoting (commas, quotes, newlines in file or label names), rows flushed as they come
            csv = printCsv(out);
            printRow(csv, header);
        }
        for (int from = 0; from < files.size(); from += batch) {
            List<Item> chunk = files.subList(from, Math.min(files.size(), from + batch));
            List<Item> ok = new ArrayList<>();
            List<float[]> prepared = new ArrayList<>();
            for (Item f : chunk) {
                try {
                    prepared.add(clf.prepare(f.image().get()));
                    ok.add(f);
                } catch (ResNeXtException e) {
                    if (!skipUnreadable) {
                        throw new ResNeXtException(e.getMessage() + " (pass --skip-unreadable to skip such files)", e);
                    }
                    skipped.add(f.toString());
                    log.warn("skipped {}", e.getMessage());
                }
            }
            if (prepared.isEmpty()) continue;
            List<Prediction> preds = clf.classifyPrepared(prepared);
            for (int i = 0; i < preds.size(); i++) {
                Prediction p = preds.get(i);
                if (csv != null) {
                    List<String> cells = new ArrayList<>(List.of(ok.get(i).toString(), p.label(),
                            String.format(Locale.ROOT, "%.6f", p.probability())));
                    if (multiLabel) {
                        cells.add(String.join(";", p.findings().stream().map(f -> f.label() + ":"
                                + String.format(Locale.ROOT, "%.6f", f.probability())).toList()));
                    }
                    if (k > 1) {
                        for (Prediction.Scored s : p.top(k)) {
                            cells.add(s.label());
                            cells.add(String.format(Locale.ROOT, "%.6f", s.probability()));
                        }
                    }
                    printRow(csv, cells);
                } else {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("file", ok.get(i).toString());
                    row.put("label", p.label());
                    row.put("probability", p.probability());
                    if (multiLabel) {
                        List<Map<String, Object>> present = new ArrayList<>();
                        for (Prediction.Scored f : p.findings()) {
                            present.add(Map.of("label", f.label(), "probability", f.probability()));
                        }
                        row.put("findings", present);
                    }
                    List<Map<String, Object>> topList = new ArrayList<>();
                    for (Prediction.Scored s : p.top(k)) {
                        topList.add(Map.of("label", s.label(), "probability", s.probability()));
                    }
                    row.put("top", topList);
                    rows.add(row);
                }
            }
        }
        double secs = (System.nanoTime() - start) / 1e9;
        int done = files.size() - skipped.size();
        log.info(String.format(Locale.ROOT, "classified %d images in %.1f s (%.1f img/s)%s", done, secs, done / secs,
                skipped.isEmpty() ? "" : "; skipped " + skipped.size() + " unreadable files"));
        if (fmt.equals("json")) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("model", model.toString());
            Map<String, Object> decision = clf.describeDecision();
            decision.put("tta", views.toString());
            result.put("decision", decision);
            result.put("predictions", rows);
            result.put("skipped", skipped);
            out.println(Json.write(result));
        }
        return 0;
    }

    /** A CSV printer on {@code out} (RFC 4180, "\n" line ends); not closed, as it does not own the stream. */
    static CSVPrinter printCsv(Appendable out) {
        try {
            return new CSVPrinter(out, CSVFormat.RFC4180.builder().setRecordSeparator('\n').build());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static void printRow(CSVPrinter csv, List<String> cells) {
        try {
            csv.printRecord(cells);
            csv.flush();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** One image to classify: its name in the output and how to decode it. */
    record Item(String name, java.util.function.Supplier<dev.resnext.data.DecodedImage> image) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** Image files, images under folders, and every image of an .npz split, in order. */
    static List<Item> items(List<Path> inputs, String split) {
        List<Item> items = new ArrayList<>();
        for (Path p : inputs) {
            if (Files.isRegularFile(p) && dev.resnext.data.DataSources.isNpz(p)) {
                dev.resnext.data.ImageSet set = dev.resnext.data.DataSources.open(p, split, null, false);
                for (int i = 0; i < set.size(); i++) {
                    int index = i;
                    items.add(new Item(p + "#" + split + "/" + i, () -> set.decode(index)));
                }
            } else {
                for (Path f : collect(List.of(p))) {
                    items.add(new Item(f.toString(), () -> ImageDecoder.read(f)));
                }
            }
        }
        return items;
    }

    static List<Path> collect(List<Path> inputs) {
        List<Path> files = new ArrayList<>();
        for (Path p : inputs) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.walk(p)) {
                    s.filter(Files::isRegularFile).filter(ImageDecoder::looksLikeImage).sorted().forEach(files::add);
                } catch (IOException e) {
                    throw new ResNeXtException("cannot list " + p + ": " + e.getMessage());
                }
            } else if (Files.isRegularFile(p)) {
                files.add(p);
            } else {
                throw new ResNeXtException("no such file or folder: " + p);
            }
        }
        if (files.isEmpty()) {
            throw new ResNeXtException("no images found in " + inputs);
        }
        return files;
    }
}
