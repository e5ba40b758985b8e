package dev.resnext.cli;

import dev.resnext.data.ImageSet;
import dev.resnext.data.LabelsCsv;
import dev.resnext.data.Normalization;
import dev.resnext.data.Splits;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelZip;
import dev.resnext.model.InputShape;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.train.Trainer;
import dev.resnext.train.TrainingData;
import dev.resnext.train.TrainingOptions;
import dev.resnext.transfer.FeatureCache;
import dev.resnext.transfer.FineTuning;
import dev.resnext.transfer.FinetuneDefaults;
import dev.resnext.transfer.FreezePolicy;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
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

/** {@code resnext finetune}: transfer learning from a saved model zip. */
@Command(name = "finetune", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tune a saved ResNeXt (a trained or imported model zip) on a new image set: new head "
                + "for the new labels, optional frozen layers, grayscale/RGB and input-size adaptation, "
                + "class weights or a balanced sampler, single- or multi-label tasks.",
                "Takes every option of 'train' as well. Options not given follow the recipe chosen for transfer "
                        + "(issue 14, docs/results.md): --epochs 20 --batch 64 --backbone-lr-factor 1 --monitor val_auc "
                        + "--class-weights auto --augment shift,rotate, one phase; other options as in 'train'."})
public final class FinetuneCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(FinetuneCommand.class);

    @Option(names = "--from", required = true, paramLabel = "MODEL.zip", description = "Model zip to start from.")
    Path from;

    @Option(names = "--freeze", paramLabel = "none|stem|stage:N|backbone", defaultValue = "none",
            description = "What keeps its weights (and BN statistics) (default: ${DEFAULT-VALUE}).")
    String freeze = "none";

    @Option(names = "--two-phase", paramLabel = "E",
            description = "First train only the head for E epochs, then everything for the remaining epochs "
                    + "with the backbone at --backbone-lr-factor times the learning rate.")
    Integer twoPhase;

    @Option(names = "--backbone-lr-factor", paramLabel = "F",
            description = "Learning-rate factor of the pre-trained layers (default: the chosen recipe's; 1 = same "
                    + "as the head).")
    Double backboneLrFactorGiven;
    double backboneLrFactor;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--cache-features", paramLabel = "auto|on|off", defaultValue = "auto",
            description = "Head-only training: compute the frozen backbone's features once instead of every "
                    + "epoch (auto: when the backbone is frozen and augmentation is off).")
    String cacheFeatures = "auto";

    @Option(names = "--labels-csv", paramLabel = "FILE",
            description = "Multi-label task: CSV with file name then one 0/1 column per finding (--data is the "
                    + "image folder); trained with sigmoid outputs.")
    Path labelsCsv;

    @Option(names = "--val-labels-csv", paramLabel = "FILE",
            description = "Multi-label validation CSV (images in --val, or in --data when --val is not given).")
    Path valLabelsCsv;

    @Mixin
    TrainCommand.DataOptions dataOptions = new TrainCommand.DataOptions();

    @Option(names = "--input", paramLabel = "HxWxC",
            description = "Network input (default: the parent's size with the data's channels).")
    String input;

    @Mixin
    TrainCommand.TrainingFlags training = new TrainCommand.TrainingFlags();

    @Mixin
    BackendOption backend = new BackendOption();

    @Override
    public Integer call() {
        applyRecipe(FinetuneDefaults.CHOSEN);
        FreezePolicy policy = FreezePolicy.parse(freeze);
        if (twoPhase != null && (twoPhase < 1 || twoPhase >= training.epochs)) {
            throw new IllegalArgumentException("--two-phase must be between 1 and --epochs - 1, was " + twoPhase);
        }
        if (!(backboneLrFactor > 0 && backboneLrFactor <= 10)) {
            throw new IllegalArgumentException("--backbone-lr-factor must be in (0, 10], was " + backboneLrFactor);
        }
        if (dataOptions.data == null && !dataOptions.manifest.given()) {
            throw new IllegalArgumentException("--data (or --manifest) is required");
        }
        if (labelsCsv != null && dataOptions.manifest.given()) {
            throw new IllegalArgumentException("--labels-csv and --manifest exclude each other (a manifest with "
                    + "--label-columns reads the same layout)");
        }
        TrainingOptions opts = training.resolve().options();
        dataOptions.check();
        String[] phases = twoPhase == null ? new String[0] : new String[]{"phase1", "phase2"};
        Outputs.checkWritable(opts, phases);
        backend.initialize();
        LoadedModel parent = ModelZip.load(from);
        ResNeXtConfig pc = parent.metadata().config();

        TrainingData data = openData(pc.getSeed());
        int channels = data.train().decode(0).channels();
        InputShape shape = input != null ? InputShape.parse(input)
                : new InputShape(pc.getInputHeight(), pc.getInputWidth(), channels);
        ResNeXtConfig child = training.applyOptimizer(FineTuning.childConfig(pc, data.labels().size(),
                data.train().multiLabel(), shape.height(), shape.width(), shape.channels()));
        policy.boundary(child); // validates stage numbers before any work

        // keep the parent's normaliser when the channels are unchanged (pre-trained weights expect it)
        DataNormalization normalizer = shape.channels() == pc.getInputChannels() && parent.normalizer() != null
                ? parent.normalizer() : null;
        if (normalizer == null) {
            normalizer = Normalization.fit(new dev.resnext.data.PreparedImages(data.train(), shape), all(data.train()),
                    5000, child.getSeed());
        }
        Map<String, Object> provenance = new LinkedHashMap<>();
        provenance.put("parent", from.toString());
        provenance.put("parentModel", pc.getName());
        provenance.put("parentProvenance", parent.metadata().provenance());
        provenance.put("freeze", policy.toString());
        provenance.put("recipe", Map.of("epochs", training.epochs, "batch", training.batch, "backboneLrFactor",
                backboneLrFactor, "twoPhase", twoPhase == null ? 0 : twoPhase, "monitor", training.monitor,
                "classWeights", training.classWeights, "augment", training.augment));

        DataNormalization norm = normalizer;
        Trainer.Result result = Outputs.writing(opts,
                () -> train(parent, child, policy, data, opts, norm, provenance), phases);
        Map<String, Object> summary = TrainCommand.summary(result);
        summary.put("workers", Trainer.workersInUse(opts.workers()));
        Outputs.checkReported(summary, TrainCommand.REPORTED);
        System.out.println(Json.write(summary));
        return 0;
    }

    /** Fills every recipe option the command line did not give with the chosen recipe's value. */
    void applyRecipe(FinetuneDefaults d) {
        var parsed = spec == null ? null : spec.commandLine().getParseResult();
        java.util.function.Predicate<String> given = name -> parsed != null && parsed.hasMatchedOption(name);
        if (!given.test("--epochs")) training.epochs = d.epochs();
        if (!given.test("--batch")) training.batch = d.batch();
        if (!given.test("--monitor")) training.monitor = d.monitor();
        if (!given.test("--class-weights")) {
            // class weights are for single-label tasks; findings are weighted by their own loss terms
            training.classWeights = labelsCsv != null ? "none" : d.classWeights();
        }
        if (!given.test("--augment")) training.augment = d.augment();
        backboneLrFactor = backboneLrFactorGiven != null ? backboneLrFactorGiven : d.backboneLrFactor();
        if (!given.test("--two-phase") && d.twoPhaseEpochs() > 0) twoPhase = d.twoPhaseEpochs();
    }

    private Trainer.Result train(LoadedModel parent, ResNeXtConfig child, FreezePolicy policy, TrainingData data,
                                 TrainingOptions opts, DataNormalization normalizer, Map<String, Object> provenance) {
        ResNeXtConfig pc = parent.metadata().config();
        Trainer.Result result;
        if (twoPhase == null) {
            ComputationGraph graph = FineTuning.prepare(parent, child, policy);
            result = run(child, data, opts, graph, normalizer, provenance, policy);
        } else {
            Path ck = opts.checkpointDir();
            TrainingOptions p1 = opts.withPhase(opts.out(), ck.resolve("phase1"), twoPhase, opts.warmupEpochs());
            log.info("phase 1: head only for {} epochs", twoPhase);
            run(child, data, p1, FineTuning.prepare(parent, child, FreezePolicy.BACKBONE), normalizer, provenance,
                    FreezePolicy.BACKBONE);
            LoadedModel phase1 = ModelZip.load(opts.out());
            TrainingOptions p2 = opts.withPhase(opts.out(), ck.resolve("phase2"), training.epochs - twoPhase, 0);
            log.info("phase 2: {} for {} epochs, backbone learning rate x{}", policy, p2.epochs(), backboneLrFactor);
            // the backbone did not change in phase 1 (frozen), so phase 2 starts from the parent plus the new head
            ComputationGraph graph = FineTuning.prepare(parent, child, policy);
            FineTuning.copyHead(phase1.graph(), graph);
            provenance.put("twoPhase", Map.of("headEpochs", twoPhase, "backboneLrFactor", backboneLrFactor));
            result = run(child, data, p2, graph, normalizer, provenance, policy);
        }
        return result;
    }

    private Trainer.Result run(ResNeXtConfig child, TrainingData data, TrainingOptions opts, ComputationGraph graph,
                               DataNormalization normalizer, Map<String, Object> provenance, FreezePolicy policy) {
        boolean cache = switch (cacheFeatures.toLowerCase(Locale.ROOT)) {
            case "on" -> true;
            case "off" -> false;
            case "auto" -> policy.kind() == FreezePolicy.Kind.BACKBONE && !opts.augmentation().enabled();
            default -> throw new IllegalArgumentException("--cache-features must be auto, on or off");
        };
        if (cache && policy.kind() != FreezePolicy.Kind.BACKBONE) {
            throw new IllegalArgumentException("--cache-features on needs --freeze backbone (or --two-phase)");
        }
        if (cache) {
            if (opts.workers() > 1) {
                log.info("--workers {}: the head is trained on cached features with one worker (milliseconds per "
                        + "epoch; nothing to parallelise)", opts.workers());
            }
            return FeatureCache.train(child, data, opts, graph, normalizer, provenance);
        }
        return new Trainer(child, data, opts, graph, normalizer, provenance)
                .withLayerLearningRateFactor(name -> name.startsWith("head.") ? 1.0 : backboneLrFactor)
                .run();
    }

    private TrainingData openData(long seed) {
        Path dataPath = dataOptions.manifest.given() ? dataOptions.manifest.manifest : dataOptions.data;
        if (labelsCsv != null) {
            ImageSet train = LabelsCsv.read(labelsCsv, dataPath, null);
            ImageSet val = valLabelsCsv == null ? null : LabelsCsv.read(valLabelsCsv,
                    dataOptions.val != null ? Path.of(dataOptions.val) : dataPath, train.classNames());
            return TrainingData.of(Splits.partition(train, val, false, dataOptions.valFraction, seed));
        }
        ImageSet all = dataOptions.open(dataPath, dataOptions.split, null);
        return dataOptions.split(all, dataPath, seed);
    }

    private static int[] all(ImageSet set) {
        int[] idx = new int[set.size()];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        return idx;
    }
}
