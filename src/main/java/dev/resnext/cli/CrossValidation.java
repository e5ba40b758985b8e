package dev.resnext.cli;

import dev.resnext.data.ImageSet;
import dev.resnext.data.Splits;
import dev.resnext.data.manifest.ManifestImageSet;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.train.CrossValidationReport;
import dev.resnext.train.MetricsFiles;
import dev.resnext.train.Trainer;
import dev.resnext.train.TrainingData;
import dev.resnext.train.TrainingOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code train --folds K}: stratified (group) K-fold cross-validation. Each fold is an ordinary
 * training run with its own model zip, metrics and checkpoint ({@code OUT.foldN.zip},
 * {@code CHECKPOINTS/foldN/}), so a killed cross-validation resumes fold by fold; the folds are
 * drawn from the seed and the data alone, so a resumed run sees the same folds.
 */
final class CrossValidation {
    private static final Logger log = LoggerFactory.getLogger(CrossValidation.class);

    private CrossValidation() {
    }

    /** The options of fold {@code f} (1-based): its own model zip and checkpoint folder. */
    static TrainingOptions forFold(TrainingOptions o, int f) {
        String name = o.out().getFileName().toString();
        String base = name.endsWith(".zip") ? name.substring(0, name.length() - 4) : name;
        Path out = o.out().resolveSibling(base + ".fold" + f + ".zip");
        return new TrainingOptions(o.epochs(), o.batchSize(), o.schedule(), o.warmupEpochs(), o.stepEpochs(),
                o.stepGamma(), o.classWeights(), o.augmentation(), out, o.checkpointDir().resolve("fold" + f),
                o.resume(), o.monitor(), o.patience(), o.stopAfterEpochs(), o.balancedSampler(), o.workers());
    }

    static Map<String, Object> run(ImageSet all, int k, ResNeXtConfig config, TrainingOptions options) {
        ImageSet pool = all;
        if (all instanceof ManifestImageSet m && !m.splitNames().isEmpty()) {
            // the official test split is never seen by any fold
            int[] idx = java.util.stream.IntStream.range(0, m.size()).filter(i -> !inTest(m, i)).toArray();
            pool = m.subset(idx, m.name() + " (without its test split)");
        }
        String[] groups = pool.hasGroups() ? Splits.groups(pool) : null;
        List<String> strataNames = new ArrayList<>(pool.classNames());
        int[] folds = Splits.groupKFold(pool.strata(), groups, k, config.getSeed(), strataNames);
        Map<String, Object> split = new LinkedHashMap<>();
        split.put("data", pool.name());
        split.put("images", pool.size());
        split.put("by", groups != null ? "group (patient)" : "image");
        if (groups != null) split.put("groups", Arrays.stream(groups).distinct().count());
        split.put("seed", config.getSeed());
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int f = 1; f <= k; f++) {
            Splits.Split s = Splits.fold(folds, f - 1);
            ImageSet train = pool.subset(s.train(), pool.name() + " (folds other than " + f + ")");
            ImageSet val = pool.subset(s.val(), pool.name() + " (fold " + f + ")");
            Map<String, Object> desc = new LinkedHashMap<>();
            desc.put("train", train.name());
            desc.put("val", val.name());
            desc.put("fold", f);
            desc.put("folds", k);
            desc.put("splitSeed", config.getSeed());
            desc.put("trainImages", train.size());
            desc.put("valImages", val.size());
            desc.put("classCounts", train.classCounts());
            TrainingOptions fo = forFold(options, f);
            boolean resumable = options.resume() && Files.exists(fo.checkpointDir().resolve(Trainer.CHECKPOINT));
            if (options.resume() && !resumable) {
                fo = new TrainingOptions(fo.epochs(), fo.batchSize(), fo.schedule(), fo.warmupEpochs(),
                        fo.stepEpochs(), fo.stepGamma(), fo.classWeights(), fo.augmentation(), fo.out(),
                        fo.checkpointDir(), false, fo.monitor(), fo.patience(), fo.stopAfterEpochs(),
                        fo.balancedSampler(), fo.workers());
            }
            log.info("fold {} of {}: {} training images, {} validation images{}", f, k, train.size(), val.size(),
                    groups != null ? " (" + Arrays.stream(Splits.groups(val)).distinct().count()
                            + " patients)" : "");
            TrainingOptions foldOptions = fo;
            TrainingData foldData = new TrainingData(train, val, pool.classNames(), desc);
            Trainer.Result result = Outputs.writing(fo, () -> new Trainer(config, foldData, foldOptions).run());
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("fold", f);
            row.put("model", result.bestModel().toString());
            row.put("bestEpoch", result.bestEpoch());
            row.put("trainImages", train.size());
            row.put("valImages", val.size());
            if (groups != null) {
                row.put("valGroups", Arrays.stream(Splits.groups(val)).distinct().count());
            }
            if (result.bestValidation() != null) {
                for (Map.Entry<String, Object> e : result.bestValidation().entrySet()) {
                    if (e.getValue() instanceof Number || e.getValue() instanceof String) {
                        row.putIfAbsent(e.getKey(), e.getValue());
                    }
                }
            }
            rows.add(row);
        }
        Map<String, Object> summary = CrossValidationReport.write(options.out(), rows, split);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("folds", k);
        out.put("models", rows.stream().map(r -> r.get("model")).toList());
        out.put("mean", summary.get("mean"));
        out.put("sd", summary.get("sd"));
        out.put("json", MetricsFiles.sibling(options.out(), ".cv.json").toString());
        out.put("csv", MetricsFiles.sibling(options.out(), ".cv.csv").toString());
        Path png = MetricsFiles.sibling(options.out(), ".cv.png");
        if (Files.exists(png)) out.put("plot", png.toString());
        return out;
    }

    private static boolean inTest(ManifestImageSet m, int i) {
        return "test".equals(m.splitOf(i));
    }
}
