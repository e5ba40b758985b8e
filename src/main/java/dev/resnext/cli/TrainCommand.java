package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.data.Augmentation;
import dev.resnext.data.DataSources;
import dev.resnext.data.FolderImageSet;
import dev.resnext.data.ImageSet;
import dev.resnext.data.RotationPretext;
import dev.resnext.data.Splits;
import dev.resnext.data.manifest.ManifestImageSet;
import dev.resnext.model.OptimizerKind;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.train.LearningRateSchedule;
import dev.resnext.train.MetricsFiles;
import dev.resnext.train.Trainer;
import dev.resnext.train.TrainingData;
import dev.resnext.train.TrainingOptions;
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

/** {@code resnext train}: the batch training job. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a ResNeXt on an image folder or a MedMNIST-style .npz and write the best model zip, "
                + "a checkpoint every epoch, metrics (CSV, JSON) and a plot of the training curves.",
                "With no options it trains the small preset on the bundled data/shapes set."})
public final class TrainCommand implements Callable<Integer> {

    @Mixin
    DataOptions dataOptions = new DataOptions();

    @Mixin
    ModelOptions model = new ModelOptions();

    @Mixin
    TrainingFlags training = new TrainingFlags();

    @Mixin
    BackendOption backend = new BackendOption();

    @Option(names = "--pretext", paramLabel = "rotation",
            description = "Self-supervised pre-training: ignore the labels and learn to predict image rotations "
                    + "(0/90/180/270); fine-tune the result with 'finetune'.")
    String pretext;

    @Option(names = "--folds", paramLabel = "K",
            description = "Stratified K-fold cross-validation (by patient with --group-column): K models "
                    + "OUT.fold1.zip .. OUT.foldK.zip, each validated on its fold, and OUT.cv.json|csv|png with "
                    + "per-fold metrics and mean +- sd. --resume continues fold by fold.")
    Integer folds;

    @Override
    public Integer call() {
        TrainingFlags.Resolved r = training.resolve();
        dataOptions.check();
        // fail now, not after the first epoch, when the outputs cannot be written; nothing is created here
        Outputs.checkWritable(r.options());
        Path dataPath = dataOptions.manifest.given() ? dataOptions.manifest.manifest
                : dataOptions.data != null ? dataOptions.data : Path.of("data/shapes");
        if (folds != null) {
            if (folds < 2) throw new IllegalArgumentException("--folds must be at least 2, was " + folds);
            if (dataOptions.val != null) throw new IllegalArgumentException("--folds and --val exclude each other");
            if (pretext != null) throw new IllegalArgumentException("--folds and --pretext exclude each other");
            for (int f = 1; f <= folds; f++) Outputs.checkWritable(CrossValidation.forFold(r.options(), f));
        }
        backend.initialize();
        ImageSet all = dataOptions.open(dataPath, dataOptions.split, null);
        if (pretext != null) {
            if (!pretext.equalsIgnoreCase("rotation")) {
                throw new IllegalArgumentException("--pretext must be rotation, was " + pretext);
            }
            all = new RotationPretext(all);
            dataOptions.val = null; // the pretext task is validated on held-out images of the same set
            dataOptions.holdOutOnly = true;
        }
        if (model.classes != null && model.classes != all.classNames().size()) {
            throw new ResNeXtException("--classes " + model.classes + " does not match the data, which has "
                    + all.classNames().size() + " classes " + all.classNames());
        }
        ResNeXtConfig config = training.applyTo(model.resolve("small"), all, model.input != null);
        if (folds != null) {
            Map<String, Object> cv = CrossValidation.run(all, folds, config, r.options());
            if (!dataOptions.skipped.isEmpty()) cv.put("skipped", dataOptions.skipped);
            Outputs.checkReported(cv, "json", "csv");
            System.out.println(Json.write(cv));
            return 0;
        }
        TrainingData data = dataOptions.split(all, dataPath, config.getSeed());
        Trainer.Result result = Outputs.writing(r.options(), () -> new Trainer(config, data, r.options()).run());
        Map<String, Object> summary = summary(result);
        summary.put("workers", Trainer.workersInUse(r.options().workers()));
        if (!dataOptions.skipped.isEmpty()) {
            summary.put("skipped", dataOptions.skipped);
        }
        Outputs.checkReported(summary, REPORTED);
        System.out.println(Json.write(summary));
        return 0;
    }

    static Map<String, Object> summary(Trainer.Result result) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", result.bestModel().toString());
        m.put("epochs", result.epochsCompleted());
        m.put("bestEpoch", result.bestEpoch());
        m.put("stoppedEarly", result.stoppedEarly());
        m.put("validation", result.bestValidation());
        m.put("metrics", MetricsFiles.sibling(result.bestModel(), ".metrics.csv").toString());
        Path curves = MetricsFiles.sibling(result.bestModel(), ".curves.png");
        if (Files.exists(curves)) {
            m.put("curves", curves.toString()); // the plot is optional: a chart failure is only logged
        }
        return m;
    }

    /** Keys of the summary that name files, which must exist when the command succeeds. */
    static final String[] REPORTED = {"model", "metrics", "curves"};

    /** --data, --val, --val-fraction, --skip-unreadable: the training and validation images. */
    public static final class DataOptions {
        @Option(names = "--data", paramLabel = "DIR|FILE.npz",
                description = "Training images: a folder with one sub-folder per class, or a MedMNIST .npz "
                        + "(default: data/shapes).")
        Path data;

        @Option(names = "--split", paramLabel = "NAME", defaultValue = "train",
                description = "Split of an .npz to train on (default: ${DEFAULT-VALUE}).")
        String split = "train";

        @Option(names = "--val", paramLabel = "DIR|FILE.npz|SPLIT",
                description = "Validation images: a folder, an .npz (its 'val' split), or the name of another "
                        + "split of the --data .npz. Default: the .npz's 'val' split when it has one, else a "
                        + "stratified --val-fraction of the training data.")
        String val;

        @Option(names = "--val-fraction", paramLabel = "F", defaultValue = "0.15",
                description = "Fraction of each class held out for validation when no --val is given "
                        + "(default: ${DEFAULT-VALUE}).")
        double valFraction = 0.15;

        @Option(names = "--skip-unreadable",
                description = "Skip non-image files and images that cannot be decoded (each is reported) instead of "
                        + "failing.")
        boolean skipUnreadable;

        @Mixin
        ImageLimitOption imageLimit = new ImageLimitOption();

        @Mixin
        ManifestOptions manifest = new ManifestOptions();

        /** Validate on a held-out part of the training data even when the .npz has a val split. */
        boolean holdOutOnly;

        /** Files skipped so far (with the reason). */
        final List<String> skipped = new ArrayList<>();

        /** Checks the options that need no data. */
        void check() {
            imageLimit.apply();
            manifest.check();
            if (manifest.given() && data != null) {
                throw new IllegalArgumentException("give --data or --manifest, not both (with --manifest, --image-root "
                        + "is the image folder)");
            }
            if (!(valFraction > 0 && valFraction < 1)) {
                throw new IllegalArgumentException("--val-fraction must be between 0 and 1 (exclusive), was "
                        + valFraction);
            }
        }

        ImageSet open(Path path, String split, List<String> classNames) {
            if (manifest.given() && path.equals(manifest.manifest)) {
                ManifestImageSet m = manifest.open(classNames, skipUnreadable);
                skipped.addAll(m.skipped());
                return m;
            }
            ImageSet set = DataSources.open(path, split, classNames, skipUnreadable);
            if (set instanceof FolderImageSet f) {
                skipped.addAll(f.skipped());
            }
            return set;
        }

        /** Training and validation sets, and how they were chosen: maps --val and --val-fraction onto {@link Splits#partition}. */
        TrainingData split(ImageSet all, Path dataPath, long seed) {
            ImageSet valSet = null;
            if (val != null) {
                Path vp = Path.of(val);
                if (Files.exists(vp)) {
                    valSet = open(vp, "val", all.classNames());
                } else if (DataSources.isNpz(dataPath) && !val.contains("/") && !val.endsWith(".npz")) {
                    valSet = open(dataPath, val, all.classNames());
                } else {
                    throw new ResNeXtException("--val: not found: " + val);
                }
            } else if (!holdOutOnly && DataSources.isNpz(dataPath) && npzHasSplit(dataPath, "val")) {
                valSet = open(dataPath, "val", all.classNames());
            }
            return TrainingData.of(Splits.partition(all, valSet, !holdOutOnly, valFraction, seed));
        }

        private static boolean npzHasSplit(Path npz, String split) {
            return dev.resnext.io.NpyFiles.readNpzHeaders(npz).containsKey(split + "_images");
        }
    }

    /** Optimisation, schedule, checkpoint and output options shared by train and finetune. */
    public static final class TrainingFlags {
        @Option(names = "--epochs", paramLabel = "N", defaultValue = "15", description = "Epochs (default: ${DEFAULT-VALUE}).")
        int epochs = 15;

        @Option(names = "--batch", paramLabel = "N", defaultValue = "32", description = "Batch size (default: ${DEFAULT-VALUE}).")
        int batch = 32;

        @Option(names = "--optimizer", paramLabel = "sgd|nesterov|adam|adamw",
                description = "Optimizer (default: the model's, nesterov for presets).")
        OptimizerKind optimizer;

        @Option(names = "--lr", paramLabel = "LR", description = "Peak learning rate (default: the model's).")
        Double lr;

        @Option(names = "--momentum", paramLabel = "M", description = "Momentum for SGD/Nesterov (default: 0.9).")
        Double momentum;

        @Option(names = "--weight-decay", paramLabel = "WD", description = "Weight decay (default: the model's).")
        Double weightDecay;

        @Option(names = "--schedule", paramLabel = "constant|step|cosine", defaultValue = "cosine",
                description = "Learning-rate schedule (default: ${DEFAULT-VALUE}).")
        String schedule = "cosine";

        @Option(names = "--warmup-epochs", paramLabel = "E", defaultValue = "1",
                description = "Linear warm-up epochs (default: ${DEFAULT-VALUE}).")
        double warmupEpochs = 1;

        @Option(names = "--step-epochs", paramLabel = "E", defaultValue = "10",
                description = "Step schedule: decay every E epochs (default: ${DEFAULT-VALUE}).")
        int stepEpochs = 10;

        @Option(names = "--step-gamma", paramLabel = "G", defaultValue = "0.1",
                description = "Step schedule: decay factor (default: ${DEFAULT-VALUE}).")
        double stepGamma = 0.1;

        @Option(names = "--class-weights", paramLabel = "none|auto|W1,W2,..", defaultValue = "none",
                description = "Loss weight per class; auto = inverse class frequency (default: ${DEFAULT-VALUE}).")
        String classWeights = "none";

        @Option(names = "--augment", paramLabel = "LIST", defaultValue = "flip,shift,rotate",
                description = "Training augmentation, any of flip,shift,rotate, or none (default: ${DEFAULT-VALUE}).")
        String augment = "flip,shift,rotate";

        @Option(names = "--seed", paramLabel = "N", description = "Seed for weights, data order, split, augmentation.")
        Long seed;

        @Option(names = "--out", paramLabel = "MODEL.zip", defaultValue = "models/model.zip",
                converter = Outputs.FileName.class,
                description = "Best model zip (default: ${DEFAULT-VALUE}); metrics and curves are written beside it.")
        Path out = Path.of("models/model.zip");

        @Option(names = "--checkpoint-dir", paramLabel = "DIR",
                description = "Folder of the per-epoch checkpoint (default: OUT's folder/checkpoints).")
        Path checkpointDir;

        @Option(names = "--resume", description = "Continue from the checkpoint in --checkpoint-dir.")
        boolean resume;

        @Option(names = "--monitor", paramLabel = "val_loss|val_accuracy|val_auc", defaultValue = "val_loss",
                description = "Validation metric that picks the best model and drives early stopping "
                        + "(default: ${DEFAULT-VALUE}).")
        String monitor = "val_loss";

        @Option(names = "--patience", paramLabel = "N", defaultValue = "0",
                description = "Stop after N epochs without improvement of --monitor (default: 0 = never).")
        int patience;

        @Option(names = "--sampler", paramLabel = "shuffle|balanced", defaultValue = "shuffle",
                description = "Epoch sampling: shuffle the training set, or draw every class equally often "
                        + "(default: ${DEFAULT-VALUE}).")
        String sampler = "shuffle";

        @Option(names = "--workers", paramLabel = "N", defaultValue = "1",
                description = "Data-parallel training with N model replicas (DL4J ParallelWrapper, parameters "
                        + "averaged after every round of N batches): one per GPU on CUDA; on the CPU the replicas "
                        + "share the cores (default: ${DEFAULT-VALUE}).")
        int workers = 1;

        @Option(names = "--stop-after", paramLabel = "N", defaultValue = "0", hidden = true,
                description = "Stop after N epochs of this invocation (testing resume).")
        int stopAfter;

        record Resolved(TrainingOptions options) {
        }

        Resolved resolve() {
            Path ckdir = checkpointDir != null ? checkpointDir
                    : out.toAbsolutePath().getParent().resolve("checkpoints");
            return new Resolved(new TrainingOptions(epochs, batch, LearningRateSchedule.parseKind(schedule),
                    warmupEpochs, stepEpochs, stepGamma, classWeights, augmentation(), out, ckdir, resume, monitor,
                    patience, stopAfter, balancedSampler(), workers));
        }

        boolean balancedSampler() {
            return switch (sampler.trim().toLowerCase(Locale.ROOT)) {
                case "shuffle" -> false;
                case "balanced" -> true;
                default -> throw new IllegalArgumentException("--sampler must be shuffle or balanced, was " + sampler);
            };
        }

        Augmentation augmentation() {
            String a = augment.trim().toLowerCase(Locale.ROOT);
            if (a.equals("none") || a.isEmpty()) {
                return Augmentation.NONE;
            }
            boolean flip = false;
            double shift = 0;
            double rotate = 0;
            for (String part : a.split(",")) {
                switch (part.trim()) {
                    case "flip" -> flip = true;
                    case "shift", "crop", "translate" -> shift = 0.125;
                    case "rotate", "rotation" -> rotate = 10;
                    default -> throw new IllegalArgumentException("--augment: unknown '" + part
                            + "'; use flip, shift, rotate or none");
                }
            }
            return new Augmentation(flip, shift, rotate);
        }

        /** {@code base} with the optimizer options (optimizer, lr, momentum, weight decay, seed) applied. */
        ResNeXtConfig applyOptimizer(ResNeXtConfig base) {
            ResNeXtConfig.Builder b = base.toBuilder();
            if (optimizer != null) b.optimizer(optimizer);
            if (lr != null) b.learningRate(lr);
            if (momentum != null) b.momentum(momentum);
            if (weightDecay != null) b.weightDecay(weightDecay);
            if (seed != null) b.seed(seed);
            return b.build();
        }

        /** The model configuration with the optimizer options applied, channels matched to the data. */
        ResNeXtConfig applyTo(ResNeXtConfig base, ImageSet data, boolean inputGiven) {
            ResNeXtConfig.Builder b = applyOptimizer(base).toBuilder();
            if (!inputGiven && data.size() > 0) {
                // a grayscale data set trains a grayscale network unless --input says otherwise
                b.inputChannels(data.decode(0).channels());
            }
            b.numClasses(Math.max(2, data.classNames().size()));
            return b.build();
        }
    }

}
