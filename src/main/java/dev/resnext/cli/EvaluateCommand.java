package dev.resnext.cli;

import dev.resnext.data.Batches;
import dev.resnext.data.DataSources;
import dev.resnext.data.ImageSet;
import dev.resnext.data.PreparedImages;
import dev.resnext.eval.Charts;
import dev.resnext.eval.ClassificationMetrics;
import dev.resnext.eval.ModelScoring;
import dev.resnext.io.LoadedModel;
import dev.resnext.io.ModelZip;
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

    @Override
    public Integer call() throws Exception {
        if (batch < 1) {
            throw new IllegalArgumentException("--batch must be at least 1, was " + batch);
        }
        if (threshold != null && !(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException("--threshold must be between 0 and 1, was " + threshold);
        }
        backend.initialize();
        LoadedModel m = ModelZip.load(model);
        ResNeXtConfig c = m.metadata().config();
        ImageSet set = DataSources.open(data, split, m.metadata().labels(), skipUnreadable);
        PreparedImages images = new PreparedImages(set, new InputShape(c.getInputHeight(), c.getInputWidth(),
                c.getInputChannels()));
        ModelScoring.Scores scores = ModelScoring.predict(m.graph(), Batches.inOrder(images, batch,
                c.getNumClasses(), m.normalizer()));
        log.info(String.format(Locale.ROOT, "scored %d images in %.1f s (%.1f img/s)", set.size(), scores.seconds(),
                scores.imagesPerSecond()));
        ClassificationMetrics metrics = threshold == null
                ? ClassificationMetrics.compute(scores.probabilities(), scores.labels(), m.metadata().labels())
                : ClassificationMetrics.compute(scores.probabilities(), scores.labels(), m.metadata().labels(),
                threshold);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("model", model.toString());
        result.put("data", set.name());
        result.putAll(metrics.toMap());
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
        System.out.println(json ? Json.write(result) : metrics.toText());
        return 0;
    }
}
