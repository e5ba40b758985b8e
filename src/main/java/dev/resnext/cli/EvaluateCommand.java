package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.data.DataSources;
import dev.resnext.data.ImageSet;
import dev.resnext.eval.Bootstrap;
import dev.resnext.eval.CalibrationMetrics;
import dev.resnext.eval.Charts;
import dev.resnext.eval.ClinicalMetrics;
import dev.resnext.eval.DeLong;
import dev.resnext.eval.OperatingPoints;
import dev.resnext.eval.Scorer;
import dev.resnext.eval.TestTimeAugmentation;
import dev.resnext.format.ModelMetadata;
import dev.resnext.eval.ClassificationMetrics;
import dev.resnext.eval.ModelScoring;
import dev.resnext.eval.OperatingPointReport;
import dev.resnext.eval.Thresholds;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelZip;
import dev.resnext.model.ResNeXtConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code resnext evaluate}: metrics of a model zip on labelled images. */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate a model zip on labelled images: accuracy, balanced accuracy, per-class precision, "
                + "recall (sensitivity), specificity and F1, confusion matrix and ROC AUC (MedMNIST definitions).")
public final class EvaluateCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(EvaluateCommand.class);

    @Option(names = "--model", paramLabel = "MODEL.zip", description = "Model zip.")
    Path model;

    @Option(names = "--compare", arity = "2", paramLabel = "MODEL.zip",
            description = "Compare two model zips on the same images instead: paired bootstrap of every metric "
                    + "and DeLong's test of the AUCs (binary).")
    List<Path> compare;

    @Option(names = "--bootstrap", paramLabel = "N",
            description = "Resamples for the 95%% percentile intervals of every metric (default: 1000 for sets of "
                    + "fewer than 50,000 images, else 0; 0 = no intervals).")
    Integer bootstrap;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1",
            description = "Seed of the bootstrap resampling (default: ${DEFAULT-VALUE}).")
    long seed = 1;

    @Option(names = "--tta", paramLabel = "flip[,shift]",
            description = "Test-time augmentation: average the probabilities of the image and its mirror image "
                    + "(flip) and/or four shifted copies (shift).")
    String tta;

    @Mixin
    PrecisionOption precision = new PrecisionOption();

    @Option(names = "--uncalibrated",
            description = "Ignore the model's stored temperature scaling (raw network probabilities).")
    boolean uncalibrated;

    @Option(names = "--save",
            description = "With --choose-threshold or --threshold: store that operating point in the model zip "
                    + "(replaced atomically), where predict and the Java API apply it.")
    boolean save;

    @Option(names = "--data", required = true, paramLabel = "DIR|FILE.npz",
            description = "Labelled images: a folder with one sub-folder per class, or an .npz.")
    Path data;

    @Option(names = "--split", paramLabel = "NAME", defaultValue = "test",
            description = "Split of an .npz (default: ${DEFAULT-VALUE}).")
    String split = "test";

    @Option(names = "--threshold", paramLabel = "T",
            description = "Binary tasks: decide the positive class when its probability exceeds T (default 0.5).")
    Double threshold;

    @Option(names = "--choose-threshold", paramLabel = "youden|sensitivity:S",
            description = "Binary tasks: choose the threshold on validation data (--threshold-data), maximising "
                    + "Youden's J or at the highest threshold reaching sensitivity S, and report sensitivity and "
                    + "specificity at it on the validation and the test data.")
    String chooseThreshold;

    @Option(names = "--threshold-data", paramLabel = "DIR|FILE.npz",
            description = "Validation images for --choose-threshold (default: the --data .npz, split "
                    + "--threshold-split).")
    Path thresholdData;

    @Option(names = "--threshold-split", paramLabel = "NAME", defaultValue = "val",
            description = "Split of a --threshold-data .npz (default: ${DEFAULT-VALUE}).")
    String thresholdSplit = "val";

    @Option(names = "--batch", paramLabel = "N", defaultValue = "64", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 64;

    @Option(names = "--json", description = "Print one JSON object instead of a text report.")
    boolean json;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Also write metrics.json, intervals.csv, confusion-matrix.png, roc.png and "
                    + "reliability.png into DIR (with --compare: comparison.json).")
    Path out;

    @Option(names = "--skip-unreadable",
            description = "Skip non-image files and images that cannot be decoded (each is reported) instead of failing.")
    boolean skipUnreadable;

    @Mixin
    BackendOption backend = new BackendOption();

    @Option(names = "--labels-csv", paramLabel = "FILE",
            description = "Multi-label models: CSV with file name then one 0/1 column per finding; --data is the "
                    + "image folder.")
    Path labelsCsv;

    /** Per-label AUC and their mean, and per-label accuracy at 0.5 (MedMNIST multi-label evaluator). */
    private int evaluateMultiLabel(LoadedModel m, ResNeXtConfig c) {
        ImageSet set = ModelSets.open(m, data, split, labelsCsv, skipUnreadable);
        ModelScoring.Scores scores = ModelSets.score(m, set, batch, ModelSets.scorer(m, uncalibrated,
                ModelSets.tta(tta)));
        dev.resnext.eval.MultiLabelMetrics metrics = scores.multiLabelMetrics(m.metadata().labels());
        double[] thresholds = new double[c.getNumClasses()];
        java.util.Arrays.fill(thresholds, threshold != null ? threshold : 0.5);
        String thresholdSource = threshold != null ? "given" : "default 0.5";
        ModelMetadata.OperatingPoint stored = m.metadata().operatingPoint();
        if (threshold == null && stored != null && stored.thresholds().size() == thresholds.length) {
            thresholds = stored.thresholds().stream().mapToDouble(Double::doubleValue).toArray();
            thresholdSource = "stored (" + stored.rule() + " on " + stored.data() + ")";
        }
        CalibrationMetrics calibration = CalibrationMetrics.ofMultiLabel(scores.probabilities(), scores.targets(),
                CalibrationMetrics.DEFAULT_BINS);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("model", model.toString());
        result.put("data", set.name());
        result.putAll(metrics.toMap());
        result.put("calibration", calibrationMap(m, calibration));
        result.put("findingThresholds", Map.of("values", thresholds, "source", thresholdSource));
        Bootstrap.Result intervals = null;
        int resamples = resamples(set.size());
        if (resamples > 0) {
            intervals = Bootstrap.percentile(set.size(), resamples, seed, ClinicalMetrics.multiLabel(
                    scores.probabilities(), scores.targets(), m.metadata().labels(), thresholds));
            result.put("intervals", intervals.toMap());
        }
        result.put("imagesPerSecond", scores.imagesPerSecond());
        if (out != null) {
            dev.resnext.io.AtomicFiles.writeString(out.resolve("metrics.json"), Json.write(result));
            Charts.writeMultiLabelRocCurves(out.resolve("roc.png"), scores.probabilities(), scores.targets(),
                    m.metadata().labels());
            Charts.writeReliabilityDiagram(out.resolve("reliability.png"), calibration, "Reliability (all findings)");
            if (intervals != null) {
                writeCsv(out.resolve("intervals.csv"), intervals.csvRows());
            }
        }
        System.out.println(json ? Json.write(result) : metrics.toText() + "\n" + calibrationText(calibration)
                + (intervals == null ? "" : "\n" + "findings decided at " + thresholdSource + " thresholds "
                + java.util.Arrays.toString(thresholds) + "\n" + intervals.toText()));
        return 0;
    }

    private int resamples(int n) {
        if (bootstrap != null) {
            return bootstrap;
        }
        return n < 50_000 ? 1000 : 0;
    }

    private Map<String, Object> calibrationMap(LoadedModel m, CalibrationMetrics c) {
        Map<String, Object> map = c.toMap();
        double[] t = uncalibrated ? null : m.metadata().temperatures();
        map.put("temperatureScaling", t == null ? null : t);
        return map;
    }

    private String calibrationText(CalibrationMetrics c) {
        return String.format(Locale.ROOT, "calibration: ECE (%d bins) %.4f, Brier %.4f%s%n", c.bins(), c.ece(),
                c.brier(), uncalibrated ? " (stored calibration ignored)" : "");
    }

    static void writeCsv(Path file, List<List<String>> rows) {
        dev.resnext.io.AtomicFiles.write(file, o -> {
            java.io.Writer w = new java.io.OutputStreamWriter(o, java.nio.charset.StandardCharsets.UTF_8);
            var csv = PredictCommand.printCsv(w);
            for (List<String> r : rows) {
                csv.printRecord(r);
            }
            csv.flush();
            w.flush();
        });
    }

    @Mixin
    ImageLimitOption imageLimit = new ImageLimitOption();

    /** What {@code --compare} writes under --out. */
    static final String COMPARISON_FILE = "comparison.json";

    /** The report files under --out; each is written temp-then-rename, those a run needs only. */
    static final List<String> REPORT_FILES = List.of("metrics.json", "intervals.csv", "confusion-matrix.png",
            "roc.png", "reliability.png");

    @Override
    public Integer call() {
        imageLimit.apply();
        if (batch < 1) {
            throw new IllegalArgumentException("--batch must be at least 1, was " + batch);
        }
        if (threshold != null && !(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException("--threshold must be between 0 and 1, was " + threshold);
        }
        ThresholdMethod method = chooseThreshold == null ? null : ThresholdMethod.parse(chooseThreshold);
        if (method != null && threshold != null) {
            throw new IllegalArgumentException("give either --threshold or --choose-threshold, not both");
        }
        Path validationPath = thresholdData;
        if (method != null && validationPath == null) {
            if (!DataSources.isNpz(data)) {
                throw new IllegalArgumentException("--choose-threshold needs validation images: --threshold-data "
                        + "DIR|FILE.npz");
            }
            validationPath = data;
        }
        if (thresholdData != null && method == null && threshold == null) {
            throw new IllegalArgumentException("--threshold-data is used with --choose-threshold or --threshold");
        }
        if (bootstrap != null && bootstrap < 0) {
            throw new IllegalArgumentException("--bootstrap must be 0 or more, was " + bootstrap);
        }
        if ((model == null) == (compare == null)) {
            throw new IllegalArgumentException("give --model MODEL.zip, or --compare A.zip B.zip");
        }
        if (save && method == null && threshold == null) {
            throw new IllegalArgumentException("--save stores the threshold of --choose-threshold or --threshold");
        }
        if (compare != null) {
            if (method != null || threshold != null || save) {
                throw new IllegalArgumentException("--compare scores each model at its own stored operating point; "
                        + "it does not take --choose-threshold, --threshold or --save");
            }
            List<Path> report = out == null ? List.of() : List.of(out.resolve(COMPARISON_FILE));
            Outputs.checkWritable("--out", report);
            backend.initialize();
            return Outputs.writing(report, List.of(), this::compareModels);
        }
        // every file this run may write is checked before any work, and removed again if the run fails
        List<Path> files = new ArrayList<>();
        if (out != null) {
            REPORT_FILES.forEach(name -> files.add(out.resolve(name)));
            Outputs.checkWritable("--out", files);
        }
        if (save) {
            Outputs.checkWritable("--model", List.of(model));
            files.add(model); // replaced atomically, never removed: it existed before the run
        }
        Path validation = validationPath;
        return Outputs.writing(files, List.of(), () -> evaluate(method, validation));
    }

    private int evaluate(ThresholdMethod method, Path validationPath) {
        dev.resnext.runtime.inference.InferencePlan.Precision numbers = precision.value();
        backend.initialize();
        LoadedModel m = ModelZip.load(model);
        dev.resnext.runtime.GraphRuntime.prepare(m.graph(), dev.resnext.runtime.GraphRuntime.Mode.INFERENCE, numbers);
        Scorer scorer = ModelSets.scorer(m, uncalibrated, ModelSets.tta(tta));
        ResNeXtConfig c = m.metadata().config();
        boolean binary = c.getNumClasses() == 2 && !c.isMultiLabel();
        if (method != null && !binary) {
            throw new ResNeXtException("--choose-threshold needs a binary model (2 classes); this model has "
                    + c.getNumClasses() + (c.isMultiLabel() ? " labels (multi-label)" : " classes"));
        }
        if (c.isMultiLabel()) {
            return evaluateMultiLabel(m, c);
        }
        if (save && !binary) {
            throw new ResNeXtException("--save stores a binary model's threshold; this model has "
                    + c.getNumClasses() + " classes (use 'calibrate' for multi-label models)");
        }
        ImageSet set = ModelSets.open(m, data, split, labelsCsv, skipUnreadable);
        Thresholds.OperatingPoint chosen = null;
        ImageSet validationSet = null;
        double[][] validationProbabilities = null;
        int[] validationLabels = null;
        if (validationPath != null && binary) {
            if (isSameData(validationPath, thresholdSplit, data, split)) {
                log.warn("the threshold is chosen on the evaluated data itself ({}); its test figures are then "
                        + "optimistic", validationPath);
            }
            validationSet = DataSources.open(validationPath, thresholdSplit, m.metadata().labels(), skipUnreadable);
            ModelScoring.Scores v = ModelSets.score(m, validationSet, batch, scorer);
            validationProbabilities = v.probabilities();
            validationLabels = v.labels();
            chosen = method == null
                    ? Thresholds.evaluate(positiveScores(v.probabilities()), positives(v.labels()), threshold)
                    : method.choose(v.probabilities(), v.labels());
            log.info(String.format(Locale.ROOT, "threshold %s on %s: %.6f (sensitivity %.4f, specificity %.4f)",
                    method == null ? "fixed" : "chosen", validationSet.name(), chosen.threshold(),
                    chosen.sensitivity(), chosen.specificity()));
        }
        Double decisionThreshold = method != null ? Double.valueOf(chosen.threshold()) : threshold;
        ModelMetadata.OperatingPoint stored = m.metadata().operatingPoint();
        boolean useStored = decisionThreshold == null && binary && stored != null && stored.thresholds().size() == 1;
        if (useStored) {
            decisionThreshold = stored.thresholds().get(0);
            if (stored.calibrated() == uncalibrated) {
                log.warn("the stored threshold applies to {} probabilities, and these are {}", stored.calibrated()
                        ? "calibrated" : "uncalibrated", uncalibrated ? "uncalibrated" : "calibrated");
            }
        }
        ModelScoring.Scores scores = ModelSets.score(m, set, batch, scorer);
        log.info(String.format(Locale.ROOT, "scored %d images in %.1f s (%.1f img/s)", set.size(), scores.seconds(),
                scores.imagesPerSecond()));
        ClassificationMetrics metrics = decisionThreshold == null
                ? ClassificationMetrics.compute(scores.probabilities(), scores.labels(), m.metadata().labels())
                : ClassificationMetrics.compute(scores.probabilities(), scores.labels(), m.metadata().labels(),
                decisionThreshold);
        OperatingPointReport operatingPoint = null;
        if (binary && useStored) {
            Thresholds.OperatingPoint onValidation = stored.sensitivity().isEmpty() || stored.sensitivity().get(0) == null
                    || stored.specificity().isEmpty() || stored.specificity().get(0) == null ? null
                    : new Thresholds.OperatingPoint(decisionThreshold, stored.sensitivity().get(0),
                    stored.specificity().get(0));
            operatingPoint = new OperatingPointReport("stored " + stored.rule(), metrics.classNames().get(1),
                    metrics.threshold(), onValidation == null ? null : stored.data(), onValidation,
                    onValidation == null ? 0 : stored.n(), OperatingPointReport.testPoint(metrics), metrics.n());
        } else if (binary && decisionThreshold != null) {
            operatingPoint = new OperatingPointReport(method == null ? "fixed" : method.toString(),
                    metrics.classNames().get(1), metrics.threshold(),
                    validationSet == null ? null : validationSet.name(), chosen,
                    validationSet == null ? 0 : validationSet.size(), OperatingPointReport.testPoint(metrics),
                    metrics.n());
        }
        CalibrationMetrics calibration = CalibrationMetrics.of(scores.probabilities(), scores.labels(),
                CalibrationMetrics.DEFAULT_BINS);
        Bootstrap.Result intervals = null;
        int resamples = resamples(set.size());
        if (resamples > 0) {
            intervals = Bootstrap.percentile(set.size(), resamples, seed, ClinicalMetrics.singleLabel(
                    scores.probabilities(), scores.labels(), metrics.classNames(),
                    binary ? metrics.threshold() : ClassificationMetrics.DEFAULT_THRESHOLD));
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("model", model.toString());
        result.put("data", set.name());
        result.putAll(metrics.toMap());
        if (operatingPoint != null) {
            result.put("operatingPoint", operatingPoint.toMap());
        }
        result.put("calibration", calibrationMap(m, calibration));
        if (intervals != null) {
            result.put("intervals", intervals.toMap());
        }
        result.put("tta", ModelSets.tta(tta).toString());
        result.put("imagesPerSecond", scores.imagesPerSecond());
        if (set instanceof dev.resnext.data.FolderImageSet f && !f.skipped().isEmpty()) {
            result.put("skipped", f.skipped());
        }
        if (out != null) {
            dev.resnext.io.AtomicFiles.writeString(out.resolve("metrics.json"), Json.write(result));
            Charts.writeConfusionMatrix(out.resolve("confusion-matrix.png"), metrics.confusionMatrix(),
                    metrics.classNames());
            Charts.writeRocCurves(out.resolve("roc.png"), scores.probabilities(), scores.labels(),
                    metrics.classNames());
            Charts.writeReliabilityDiagram(out.resolve("reliability.png"), calibration, "Reliability");
            if (intervals != null) {
                writeCsv(out.resolve("intervals.csv"), intervals.csvRows());
            }
            log.info("wrote metrics.json, confusion-matrix.png, roc.png, reliability.png{} in {}",
                    intervals == null ? "" : ", intervals.csv", out);
        }
        // last, so that a run that fails before it leaves the model zip as it was
        if (save) {
            boolean calibrated = !uncalibrated && m.metadata().temperatures() != null;
            ModelMetadata.OperatingPoint op = method != null
                    ? OperatingPoints.binary(validationProbabilities, validationLabels, method.targetSensitivity(),
                    validationSet.name(), calibrated)
                    : OperatingPoints.fixed(new double[] {threshold}, validationProbabilities != null
                    ? validationProbabilities : scores.probabilities(), validationLabels != null ? validationLabels
                    : scores.labels(), validationSet != null ? validationSet.name() : set.name(), calibrated);
            ModelZip.save(model, m.graph(), m.metadata().withDecision(m.metadata().calibration(), op),
                    m.normalizer(), false, m.extras());
            log.info("stored the operating point ({}, threshold {}) in {}", op.rule(), op.thresholds().get(0), model);
        }
        System.out.println(json ? Json.write(result)
                : metrics.toText() + (operatingPoint == null ? "" : "\n" + operatingPoint.toText()) + "\n"
                + calibrationText(calibration) + (intervals == null ? "" : "\n" + intervals.toText()));
        return 0;
    }

    /** {@code --compare A B}: both models on the same images, paired bootstrap and DeLong. */
    private int compareModels() {
        LoadedModel a = ModelZip.load(compare.get(0));
        LoadedModel b = ModelZip.load(compare.get(1));
        if (!a.metadata().labels().equals(b.metadata().labels())
                || a.metadata().config().isMultiLabel() != b.metadata().config().isMultiLabel()) {
            throw new ResNeXtException("the two models do not have the same classes: " + a.metadata().labels()
                    + " and " + b.metadata().labels());
        }
        ImageSet setA = ModelSets.open(a, data, split, labelsCsv, skipUnreadable);
        ImageSet setB = ModelSets.open(b, data, split, labelsCsv, skipUnreadable);
        TestTimeAugmentation views = ModelSets.tta(tta);
        ModelScoring.Scores sa = ModelSets.score(a, setA, batch, ModelSets.scorer(a, uncalibrated, views));
        ModelScoring.Scores sb = ModelSets.score(b, setB, batch, ModelSets.scorer(b, uncalibrated, views));
        boolean multiLabel = a.metadata().config().isMultiLabel();
        List<String> names = a.metadata().labels();
        int n = setA.size();
        int resamples = resamples(n) == 0 ? 1000 : resamples(n);
        var statA = multiLabel ? ClinicalMetrics.multiLabel(sa.probabilities(), sa.targets(), names, findingThresholds(a))
                : ClinicalMetrics.singleLabel(sa.probabilities(), sa.labels(), names, binaryThreshold(a));
        var statB = multiLabel ? ClinicalMetrics.multiLabel(sb.probabilities(), sb.targets(), names, findingThresholds(b))
                : ClinicalMetrics.singleLabel(sb.probabilities(), sb.labels(), names, binaryThreshold(b));
        Map<String, Bootstrap.Comparison> paired = Bootstrap.paired(n, resamples, seed, statA, statB);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("a", compare.get(0).toString());
        result.put("b", compare.get(1).toString());
        result.put("data", setA.name());
        result.put("n", n);
        DeLong delong = null;
        if (!multiLabel && names.size() == 2) {
            boolean[] positive = new boolean[n];
            double[] x = new double[n];
            double[] y = new double[n];
            for (int i = 0; i < n; i++) {
                positive[i] = sa.labels()[i] == 1;
                x[i] = sa.probabilities()[i][1];
                y[i] = sb.probabilities()[i][1];
            }
            delong = DeLong.compare(x, y, positive);
            result.put("delong", delong.toMap());
        }
        Map<String, Object> pm = new LinkedHashMap<>();
        paired.forEach((k, v) -> pm.put(k, v.toMap()));
        result.put("pairedBootstrap", Map.of("resamples", resamples, "seed", seed, "level", Bootstrap.LEVEL,
                "metrics", pm));
        if (out != null) {
            dev.resnext.io.AtomicFiles.writeString(out.resolve(COMPARISON_FILE), Json.write(result));
        }
        if (json) {
            System.out.println(Json.write(result));
            return 0;
        }
        StringBuilder text = new StringBuilder(String.format(Locale.ROOT,
                "A = %s%nB = %s%n%d images of %s, paired bootstrap (%d resamples, seed %d); p = two-sided%n",
                compare.get(0), compare.get(1), n, setA.name(), resamples, seed));
        text.append(Bootstrap.comparisonText(paired));
        if (delong != null) {
            text.append(String.format(Locale.ROOT, "%nDeLong: AUC A %.4f, B %.4f, difference %.4f (SE %.4f), z %.2f, "
                    + "p %.4g: %s%n", delong.aucA(), delong.aucB(), delong.difference(), delong.se(), delong.z(),
                    delong.p(), delong.p() < 0.05 ? "the AUCs differ at the 5% level" : "no significant difference "
                            + "at the 5% level"));
        }
        System.out.print(text);
        return 0;
    }

    private static double binaryThreshold(LoadedModel m) {
        ModelMetadata.OperatingPoint op = m.metadata().operatingPoint();
        return op != null && op.thresholds().size() == 1 ? op.thresholds().get(0)
                : ClassificationMetrics.DEFAULT_THRESHOLD;
    }

    private static double[] findingThresholds(LoadedModel m) {
        ModelMetadata.OperatingPoint op = m.metadata().operatingPoint();
        int k = m.metadata().config().getNumClasses();
        if (op != null && op.thresholds().size() == k) {
            return op.thresholds().stream().mapToDouble(Double::doubleValue).toArray();
        }
        double[] t = new double[k];
        java.util.Arrays.fill(t, 0.5);
        return t;
    }

    /** Whether the validation data is the evaluated data (same folder, or same file and split). */
    private static boolean isSameData(Path validation, String validationSplit, Path test, String testSplit) {
        try {
            if (!java.nio.file.Files.isSameFile(validation, test)) {
                return false;
            }
        } catch (java.io.IOException e) {
            return false;
        }
        return !DataSources.isNpz(test) || validationSplit.equals(testSplit);
    }

    private static double[] positiveScores(double[][] probabilities) {
        double[] s = new double[probabilities.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = probabilities[i][1];
        }
        return s;
    }

    private static boolean[] positives(int[] labels) {
        boolean[] p = new boolean[labels.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = labels[i] == 1;
        }
        return p;
    }

    /** How {@code --choose-threshold} picks the threshold: Youden's J, or a target sensitivity. */
    record ThresholdMethod(Double targetSensitivity) {
        static ThresholdMethod parse(String spec) {
            String s = spec.trim().toLowerCase(Locale.ROOT);
            if (s.equals("youden")) {
                return new ThresholdMethod(null);
            }
            if (s.startsWith("sensitivity:")) {
                try {
                    double t = Double.parseDouble(s.substring("sensitivity:".length()));
                    if (t > 0 && t <= 1) {
                        return new ThresholdMethod(t);
                    }
                } catch (NumberFormatException ignored) {
                    // reported below
                }
            }
            throw new IllegalArgumentException("--choose-threshold must be youden or sensitivity:S with S in (0, 1] "
                    + "(e.g. sensitivity:0.90), was '" + spec + "'");
        }

        Thresholds.OperatingPoint choose(double[][] probabilities, int[] labels) {
            return targetSensitivity == null ? Thresholds.youden(probabilities, labels)
                    : Thresholds.forSensitivity(probabilities, labels, targetSensitivity);
        }

        @Override
        public String toString() {
            return targetSensitivity == null ? "youden" : "sensitivity:" + targetSensitivity;
        }
    }
}
