package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.data.Batches;
import dev.resnext.data.DataSources;
import dev.resnext.data.ImageSet;
import dev.resnext.data.PreparedImages;
import dev.resnext.eval.Charts;
import dev.resnext.eval.ClassificationMetrics;
import dev.resnext.eval.ModelScoring;
import dev.resnext.eval.OperatingPointReport;
import dev.resnext.eval.Thresholds;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelZip;
import dev.resnext.model.InputShape;
import dev.resnext.model.ResNeXtConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code resnext evaluate}: metrics of a model zip on labelled images. */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate a model zip on labelled images: accuracy, balanced accuracy, per-class precision, "
                + "recall (sensitivity), specificity and F1, confusion matrix and ROC AUC (MedMNIST definitions).")
public final class EvaluateCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(EvaluateCommand.class);

    @Option(names = "--model", required = true, paramLabel = "MODEL.zip", description = "Model zip.")
    Path model;

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
            description = "Also write metrics.json, confusion-matrix.png and roc.png into DIR.")
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
    private int evaluateMultiLabel(LoadedModel m, ResNeXtConfig c) throws Exception {
        if (labelsCsv == null) {
            throw new IllegalArgumentException("this is a multi-label model: give the labels with --labels-csv FILE");
        }
        ImageSet set = dev.resnext.data.LabelsCsv.read(labelsCsv, data, m.metadata().labels());
        ModelScoring.Scores scores = ModelScoring.predict(m.graph(), Batches.inOrder(new PreparedImages(set,
                new InputShape(c.getInputHeight(), c.getInputWidth(), c.getInputChannels())), batch,
                c.getNumClasses(), m.normalizer()));
        dev.resnext.eval.MultiLabelMetrics metrics = scores.multiLabelMetrics(m.metadata().labels());
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("model", model.toString());
        result.put("data", set.name());
        result.putAll(metrics.toMap());
        result.put("imagesPerSecond", scores.imagesPerSecond());
        if (out != null) {
            dev.resnext.io.AtomicFiles.writeString(out.resolve("metrics.json"), Json.write(result));
            Charts.writeMultiLabelRocCurves(out.resolve("roc.png"), scores.probabilities(), scores.targets(),
                    m.metadata().labels());
        }
        System.out.println(json ? Json.write(result) : metrics.toText());
        return 0;
    }

    @Mixin
    ImageLimitOption imageLimit = new ImageLimitOption();

    @Override
    public Integer call() throws Exception {
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
        backend.initialize();
        LoadedModel m = ModelZip.load(model);
        ResNeXtConfig c = m.metadata().config();
        boolean binary = c.getNumClasses() == 2 && !c.isMultiLabel();
        if (method != null && !binary) {
            throw new ResNeXtException("--choose-threshold needs a binary model (2 classes); this model has "
                    + c.getNumClasses() + (c.isMultiLabel() ? " labels (multi-label)" : " classes"));
        }
        if (c.isMultiLabel()) {
            return evaluateMultiLabel(m, c);
        }
        if (labelsCsv != null) {
            throw new IllegalArgumentException("--labels-csv is for multi-label models; this model is single-label");
        }
        ImageSet set = DataSources.open(data, split, m.metadata().labels(), skipUnreadable);
        Thresholds.OperatingPoint chosen = null;
        ImageSet validationSet = null;
        if (validationPath != null && binary) {
            if (isSameData(validationPath, thresholdSplit, data, split)) {
                log.warn("the threshold is chosen on the evaluated data itself ({}); its test figures are then "
                        + "optimistic", validationPath);
            }
            validationSet = DataSources.open(validationPath, thresholdSplit, m.metadata().labels(), skipUnreadable);
            ModelScoring.Scores v = ModelScoring.predict(m.graph(), Batches.inOrder(new PreparedImages(validationSet,
                    new InputShape(c.getInputHeight(), c.getInputWidth(), c.getInputChannels())), batch,
                    c.getNumClasses(), m.normalizer()));
            chosen = method == null
                    ? Thresholds.evaluate(positiveScores(v.probabilities()), positives(v.labels()), threshold)
                    : method.choose(v.probabilities(), v.labels());
            log.info(String.format(Locale.ROOT, "threshold %s on %s: %.6f (sensitivity %.4f, specificity %.4f)",
                    method == null ? "fixed" : "chosen", validationSet.name(), chosen.threshold(),
                    chosen.sensitivity(), chosen.specificity()));
        }
        Double decisionThreshold = method != null ? Double.valueOf(chosen.threshold()) : threshold;
        PreparedImages images = new PreparedImages(set, new InputShape(c.getInputHeight(), c.getInputWidth(),
                c.getInputChannels()));
        ModelScoring.Scores scores = ModelScoring.predict(m.graph(), Batches.inOrder(images, batch,
                c.getNumClasses(), m.normalizer()));
        log.info(String.format(Locale.ROOT, "scored %d images in %.1f s (%.1f img/s)", set.size(), scores.seconds(),
                scores.imagesPerSecond()));
        ClassificationMetrics metrics = decisionThreshold == null
                ? ClassificationMetrics.compute(scores.probabilities(), scores.labels(), m.metadata().labels())
                : ClassificationMetrics.compute(scores.probabilities(), scores.labels(), m.metadata().labels(),
                decisionThreshold);
        OperatingPointReport operatingPoint = null;
        if (binary && decisionThreshold != null) {
            operatingPoint = new OperatingPointReport(method == null ? "fixed" : method.toString(),
                    metrics.classNames().get(1), metrics.threshold(),
                    validationSet == null ? null : validationSet.name(), chosen,
                    validationSet == null ? 0 : validationSet.size(), OperatingPointReport.testPoint(metrics),
                    metrics.n());
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("model", model.toString());
        result.put("data", set.name());
        result.putAll(metrics.toMap());
        if (operatingPoint != null) {
            result.put("operatingPoint", operatingPoint.toMap());
        }
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
            log.info("wrote {}, {} and {}", out.resolve("metrics.json"), out.resolve("confusion-matrix.png"),
                    out.resolve("roc.png"));
        }
        System.out.println(json ? Json.write(result)
                : operatingPoint == null ? metrics.toText() : metrics.toText() + "\n" + operatingPoint.toText());
        return 0;
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
