package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.data.ImageSet;
import dev.resnext.eval.CalibrationMetrics;
import dev.resnext.eval.ModelScoring;
import dev.resnext.eval.OperatingPoints;
import dev.resnext.eval.TemperatureScaling;
import dev.resnext.eval.TestTimeAugmentation;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.model.ResNeXtConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code resnext calibrate}: temperature scaling and an operating point, fitted on validation data, into the zip. */
@Command(name = "calibrate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fit temperature scaling on validation data (one temperature per model; one per finding for "
                + "multi-label models) and choose the operating point on the calibrated probabilities; both are "
                + "written into the model zip, and evaluate, predict, explain and the Java API apply them.",
                "Writes a new zip with --out, else replaces MODEL.zip atomically."})
public final class CalibrateCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(CalibrateCommand.class);

    @Option(names = "--model", required = true, paramLabel = "MODEL.zip", description = "Model zip.")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "DIR|FILE.npz",
            description = "Labelled validation images (never the test set): a folder or an .npz.")
    Path data;

    @Option(names = "--split", paramLabel = "NAME", defaultValue = "val",
            description = "Split of an .npz (default: ${DEFAULT-VALUE}).")
    String split = "val";

    @Option(names = "--labels-csv", paramLabel = "FILE",
            description = "Multi-label models: CSV with file name then one 0/1 column per finding.")
    Path labelsCsv;

    @Option(names = "--choose-threshold", paramLabel = "youden|sensitivity:S|none", defaultValue = "youden",
            description = "Operating point stored with the model (binary: class 1; multi-label: per finding), "
                    + "chosen on the calibrated validation probabilities (default: ${DEFAULT-VALUE}).")
    String chooseThreshold = "youden";

    @Option(names = "--out", paramLabel = "NEW.zip", converter = Outputs.FileName.class,
            description = "Write the calibrated model here instead of replacing MODEL.zip.")
    Path out;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "64", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 64;

    @Option(names = "--json", description = "Print one JSON object instead of a text report.")
    boolean json;

    @Option(names = "--skip-unreadable",
            description = "Skip non-image files and images that cannot be decoded (each is reported) instead of failing.")
    boolean skipUnreadable;

    @Mixin
    BackendOption backend = new BackendOption();

    @Mixin
    ImageLimitOption imageLimit = new ImageLimitOption();

    @Override
    public Integer call() {
        imageLimit.apply();
        if (batch < 1) {
            throw new IllegalArgumentException("--batch must be at least 1, was " + batch);
        }
        boolean choose = !chooseThreshold.trim().equalsIgnoreCase("none");
        EvaluateCommand.ThresholdMethod method = choose ? EvaluateCommand.ThresholdMethod.parse(chooseThreshold) : null;
        Path target = out != null ? out : model;
        Outputs.checkWritable(out != null ? "--out" : "--model", List.of(target));
        // a failed run removes what it created (a folder made for the file); the file itself is written atomically
        return Outputs.writing(List.of(target), List.of(), () -> {
            backend.initialize();
            LoadedModel m = ModelZip.load(model);
            ResNeXtConfig c = m.metadata().config();
            boolean multiLabel = c.isMultiLabel();
            ImageSet set = ModelSets.open(m, data, split, labelsCsv, skipUnreadable);
            ModelScoring.Scores raw = ModelSets.score(m, set, batch, ModelSets.scorer(m, true, TestTimeAugmentation.NONE));
            double[][] p = raw.probabilities();

            double[] temperatures;
            double nllBefore;
            double nllAfter;
            CalibrationMetrics before;
            CalibrationMetrics after;
            if (multiLabel) {
                temperatures = TemperatureScaling.fit(p, raw.targets());
                nllBefore = 0;
                nllAfter = 0;
                for (int k = 0; k < temperatures.length; k++) {
                    nllBefore += TemperatureScaling.nll(p, raw.targets(), k, 1.0) / temperatures.length;
                    nllAfter += TemperatureScaling.nll(p, raw.targets(), k, temperatures[k]) / temperatures.length;
                }
                before = CalibrationMetrics.ofMultiLabel(p, raw.targets(), CalibrationMetrics.DEFAULT_BINS);
                after = CalibrationMetrics.ofMultiLabel(TemperatureScaling.apply(p, temperatures, true), raw.targets(),
                        CalibrationMetrics.DEFAULT_BINS);
            } else {
                temperatures = new double[] {TemperatureScaling.fit(p, raw.labels())};
                nllBefore = TemperatureScaling.nll(p, raw.labels(), 1.0);
                nllAfter = TemperatureScaling.nll(p, raw.labels(), temperatures[0]);
                before = CalibrationMetrics.of(p, raw.labels(), CalibrationMetrics.DEFAULT_BINS);
                after = CalibrationMetrics.of(TemperatureScaling.apply(p, temperatures, false), raw.labels(),
                        CalibrationMetrics.DEFAULT_BINS);
            }
            List<Double> ts = new ArrayList<>();
            for (double t : temperatures) ts.add(t);
            ModelMetadata.Calibration calibration = new ModelMetadata.Calibration("temperature", ts, set.name(),
                    set.size(), nllBefore, nllAfter, before.ece(), after.ece());

            ModelMetadata.OperatingPoint op = m.metadata().operatingPoint();
            double[][] calibrated = TemperatureScaling.apply(p, temperatures, multiLabel);
            if (method != null) {
                if (multiLabel) {
                    op = OperatingPoints.perFinding(calibrated, raw.targets(), method.targetSensitivity(), set.name(), true);
                } else if (c.getNumClasses() == 2) {
                    op = OperatingPoints.binary(calibrated, raw.labels(), method.targetSensitivity(), set.name(), true);
                } else {
                    log.info("{} classes: the decision stays the arg-max (an operating point is for binary and "
                            + "multi-label models)", c.getNumClasses());
                    op = null;
                }
            } else if (op != null && java.util.Arrays.stream(temperatures).anyMatch(t -> t != 1.0)) {
                // a stored threshold was chosen on other probabilities; it no longer means the same thing
                log.warn("the stored operating point ({}) was chosen before this calibration: it is removed; choose a "
                        + "new one", op.rule());
                op = null;
            }
            ModelZip.save(target, m.graph(), m.metadata().withDecision(calibration, op), m.normalizer(), false,
                    m.extras());

            Map<String, Object> result = new LinkedHashMap<>();
            result.put("model", target.toString());
            result.put("data", set.name());
            result.put("n", set.size());
            result.put("temperatures", temperatures);
            result.put("nllBefore", nllBefore);
            result.put("nllAfter", nllAfter);
            result.put("eceBefore", before.ece());
            result.put("eceAfter", after.ece());
            result.put("brierBefore", before.brier());
            result.put("brierAfter", after.brier());
            if (op != null) {
                result.put("operatingPoint", op);
            }
            if (json) {
                System.out.println(Json.write(result));
            } else {
                StringBuilder s = new StringBuilder();
                s.append(String.format(Locale.ROOT, "calibrated on %s (%d images): temperature%s %s%n", set.name(),
                        set.size(), temperatures.length > 1 ? "s" : "", java.util.Arrays.toString(temperatures)));
                s.append(String.format(Locale.ROOT, "validation NLL %.4f -> %.4f, ECE (15 bins) %.4f -> %.4f, "
                        + "Brier %.4f -> %.4f%n", nllBefore, nllAfter, before.ece(), after.ece(), before.brier(),
                        after.brier()));
                if (op != null) {
                    s.append(String.format(Locale.ROOT, "operating point (%s on %s): threshold%s %s, sensitivity %s, "
                            + "specificity %s%n", op.rule(), op.data(), op.thresholds().size() > 1 ? "s" : "",
                            op.thresholds(), op.sensitivity(), op.specificity()));
                }
                s.append("wrote ").append(target);
                System.out.println(s);
            }
            return 0;
        });
    }
}
