package dev.resnext.train;

import dev.resnext.runtime.GraphRuntime;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.ResNeXtException;
import dev.resnext.backend.OneDnn;
import dev.resnext.data.Batches;
import dev.resnext.data.Normalization;
import dev.resnext.data.PreparedImages;
import dev.resnext.eval.ClassificationMetrics;
import dev.resnext.eval.ModelScoring;
import dev.resnext.eval.MultiLabelMetrics;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.model.InputShape;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.model.VertexNames;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The training job: fits a ResNeXt on a {@link TrainingData}, validating every epoch, writing an
 * atomic checkpoint (weights, optimizer state, {@link TrainingState}) after every epoch, the best
 * model zip whenever the monitored metric improves, and the metrics (CSV, JSON, PNG) as it goes.
 *
 * <p>A killed run loses at most the epoch in progress: {@code resume} continues from the last
 * checkpoint with the same data order, augmentation and learning rate as an uninterrupted run.
 */
public final class Trainer {
    private static final Logger log = LoggerFactory.getLogger(Trainer.class);
    static final ObjectMapper JSON = new ObjectMapper();
    /** Checkpoint file name inside the checkpoint folder. */
    public static final String CHECKPOINT = "checkpoint.zip";
    static final String STATE_ENTRY = "training-state.json";

    /**
     * Outcome of a run.
     *
     * @param bestModel       the best model zip
     * @param epochsCompleted epochs done in total (including resumed ones)
     * @param bestEpoch       1-based epoch of the best model
     * @param bestValidation  validation metrics of the best model
     * @param stoppedEarly    whether early stopping ended the run
     * @param history         one row per epoch
     */
    public record Result(Path bestModel, int epochsCompleted, int bestEpoch, Map<String, Object> bestValidation,
                         boolean stoppedEarly, List<Map<String, Object>> history) {
    }

    private final ResNeXtConfig config;
    private final TrainingData data;
    private final TrainingOptions options;
    private final ComputationGraph initialGraph;
    private final DataNormalization initialNormalizer;
    private final Map<String, Object> provenance;
    private java.util.function.ToDoubleFunction<String> lrFactor = name -> 1.0;

    /**
     * @param initialGraph      a network to continue from (fine-tuning), or null to build a fresh one
     * @param initialNormalizer the normaliser that goes with {@code initialGraph}, or null to fit one
     * @param provenance        recorded in the model zip (e.g. the parent model)
     */
    public Trainer(ResNeXtConfig config, TrainingData data, TrainingOptions options, ComputationGraph initialGraph,
                   DataNormalization initialNormalizer, Map<String, Object> provenance) {
        this.config = config;
        this.data = data;
        this.options = options.withWorkers(workersInUse(options.workers()));
        this.initialGraph = initialGraph;
        this.initialNormalizer = initialNormalizer;
        this.provenance = provenance == null ? Map.of() : provenance;
    }

    public Trainer(ResNeXtConfig config, TrainingData data, TrainingOptions options) {
        this(config, data, options, null, null, null);
    }

    private static final java.util.concurrent.atomic.AtomicBoolean SAID_CPU_WORKERS =
            new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * The data-parallel workers that run when {@code asked} are asked for: all of them on CUDA (one
     * replica per device), one on the CPU unless {@code resnext.cpuReplicas} is set. On a CPU one
     * worker already keeps every core busy (oneDNN/OpenMP threads), and DL4J's ParallelWrapper
     * builds its replicas anew for every epoch, which is far slower than one worker (measurements in
     * docs/scale-out.md). Says so once per process when it overrides the request.
     */
    public static int workersInUse(int asked) {
        if (asked <= 1 || !OneDnn.isCpuBackend() || dev.resnext.RuntimeSettings.current().cpuReplicas()) {
            return asked;
        }
        if (SAID_CPU_WORKERS.compareAndSet(false, true)) {
            log.warn("{} data-parallel workers asked for on the CPU: training with 1, which already uses every core "
                    + "and is faster than {} replicas here (-Dresnext.cpuReplicas=true runs the replicas anyway)",
                    asked, asked);
        }
        return 1;
    }

    /**
     * Scales the learning rate of each layer by {@code factor(vertexName)}, e.g. a lower rate for a
     * pre-trained backbone than for a new head.
     */
    public Trainer withLayerLearningRateFactor(java.util.function.ToDoubleFunction<String> factor) {
        this.lrFactor = factor;
        return this;
    }

    /** Runs (or resumes) training. */
    public Result run() {
        InputShape shape = new InputShape(config.getInputHeight(), config.getInputWidth(), config.getInputChannels());
        PreparedImages train = new PreparedImages(data.train(), shape);
        PreparedImages val = new PreparedImages(data.val(), shape);
        int[] trainIdx = new int[data.train().size()];
        for (int i = 0; i < trainIdx.length; i++) trainIdx[i] = i;
        int itersPerEpoch = (trainIdx.length + options.batchSize() - 1) / options.batchSize();

        Path ckpt = options.checkpointDir().resolve(CHECKPOINT);
        ComputationGraph graph;
        DataNormalization normalizer;
        TrainingState state;
        if (options.resume() && Files.exists(ckpt)) {
            LoadedModel loaded = ModelZip.load(ckpt, true);
            if (!sameArchitecture(loaded.metadata().config(), config)) {
                throw new ResNeXtException("cannot resume: the checkpoint " + ckpt + " is for model "
                        + loaded.metadata().config() + ", not " + config);
            }
            graph = loaded.graph();
            normalizer = loaded.normalizer();
            state = readState(loaded, ckpt);
            // a saved zip holds the learning rate in force, not the job's schedule: set it again
            configureForTraining(graph, options.stepsPerEpoch(itersPerEpoch), true);
            log.info("resuming from {} after epoch {}", ckpt, state.epochsCompleted);
            if (state.epochsCompleted >= options.epochs()) {
                log.info("the checkpoint already has {} epochs; nothing to do", state.epochsCompleted);
            }
        } else {
            if (options.resume()) {
                log.warn("resume asked for, but there is no checkpoint in {}; starting from the beginning",
                        options.checkpointDir());
            }
            normalizer = initialNormalizer != null ? initialNormalizer
                    : Normalization.fit(train, trainIdx, 5000, config.getSeed());
            graph = initialGraph != null ? GraphRuntime.prepare(initialGraph)
                    : GraphRuntime.create(ResNeXtGraphFactory.build(config));
            // with N workers every replica (and its learning-rate schedule) takes one step per N batches
            configureForTraining(graph, options.stepsPerEpoch(itersPerEpoch), false);
            state = new TrainingState();
            state.data = new LinkedHashMap<>(data.description());
        }
        logStart(graph, itersPerEpoch);

        boolean stoppedEarly = false;
        int runThisInvocation = 0;
        try {
            for (int epoch = state.epochsCompleted; epoch < options.epochs(); epoch++) {
                if (options.stopAfterEpochs() > 0 && runThisInvocation >= options.stopAfterEpochs()) {
                    log.info("stopping after {} epochs of this run, as requested", runThisInvocation);
                    break;
                }
                Map<String, Object> row = runEpoch(graph, normalizer, train, trainIdx, val, epoch, itersPerEpoch, ckpt);
                runThisInvocation++;
                state.history.add(row);
                state.epochsCompleted = epoch + 1;
                double metric = ((Number) row.get(options.monitor())).doubleValue();
                boolean improved = Double.isNaN(state.bestMetric) || (options.monitorMaximises()
                        ? metric > state.bestMetric : metric < state.bestMetric);
                if (improved) {
                    state.bestMetric = metric;
                    state.bestEpoch = epoch + 1;
                    state.epochsSinceImprovement = 0;
                    state.bestValidation = new LinkedHashMap<>(row);
                    ModelZip.save(options.out(), graph, metadata(state, false), normalizer, false);
                    log.info("epoch {}: {} improved to {}; saved {}", epoch + 1, options.monitor(),
                            fmt(metric), options.out());
                } else {
                    state.epochsSinceImprovement++;
                }
                // the checkpoint comes after the best model, so a resumed run never lacks its best zip
                ModelZip.save(ckpt, graph, metadata(state, true), normalizer, true,
                        Map.of(STATE_ENTRY, writeState(state)));
                MetricsFiles.write(options.out(), state.history);
                if (options.patience() > 0 && state.epochsSinceImprovement >= options.patience()) {
                    log.info("early stopping: {} did not improve for {} epochs (best {} at epoch {})",
                            options.monitor(), options.patience(), fmt(state.bestMetric), state.bestEpoch);
                    stoppedEarly = true;
                    break;
                }
            }
        } finally {
            // the training plan's buffers (hundreds of MB for a large model) go now, not whenever the
            // garbage collector finds the graph: cross-validation trains one graph per fold
            GraphRuntime.releaseTraining(graph);
        }
        if (runThisInvocation == 0 && state.epochsCompleted > 0) {
            writeOutputsOfFinishedRun(graph, normalizer, state, ckpt);
        }
        if (state.bestEpoch > 0) {
            log.info("best model: epoch {} with {} {}, written to {}", state.bestEpoch, options.monitor(),
                    fmt(state.bestMetric), options.out());
        }
        return new Result(options.out(), state.epochsCompleted, state.bestEpoch, state.bestValidation, stoppedEarly,
                state.history);
    }

    /**
     * A resumed run with no epoch left to train still promises its outputs: write what the checkpoint
     * can give (the metrics; the best model when it is the checkpoint's own epoch), and refuse when
     * the best model lives only where the original run wrote it.
     */
    private void writeOutputsOfFinishedRun(ComputationGraph graph, DataNormalization normalizer, TrainingState state,
                                           Path ckpt) {
        if (!Files.exists(options.out())) {
            if (state.bestEpoch != state.epochsCompleted) {
                throw new ResNeXtException("the checkpoint " + ckpt + " has finished all " + state.epochsCompleted
                        + " epochs and its best model (epoch " + state.bestEpoch + ") is not at " + options.out()
                        + ": it is where the run that made the checkpoint wrote it; train for more epochs to write a "
                        + "new model there");
            }
            ModelZip.save(options.out(), graph, metadata(state, false), normalizer, false);
            log.info("the checkpoint's last epoch is its best: wrote it to {}", options.out());
        }
        if (!Files.exists(MetricsFiles.sibling(options.out(), ".metrics.csv"))) {
            MetricsFiles.write(options.out(), state.history);
        }
    }

    private Map<String, Object> runEpoch(ComputationGraph graph, DataNormalization normalizer, PreparedImages train,
                                         int[] trainIdx, PreparedImages val, int epoch, int itersPerEpoch,
                                         Path ckpt) {
        int[] order = options.balancedSampler()
                ? Batches.balanced(trainIdx, data.train().labels(), config.getSeed(), epoch)
                : Batches.shuffled(trainIdx, config.getSeed(), epoch);
        Batches batches = new Batches(train, order,
                options.batchSize(), config.getNumClasses(), normalizer, options.augmentation(), config.getSeed(),
                epoch);
        long start = System.nanoTime();
        long lastLog = start;
        double lossSum = 0;
        long seen = 0;
        int b = 0;
        if (options.workers() > 1) {
            ParallelEpoch.Outcome o = new ParallelEpoch(options.workers(), log).fit(graph,
                    new BatchesIterator(batches, options.batchSize(), config.getNumClasses(), data.labels()),
                    epoch, options.epochs(), batches.count(), batches.size());
            if (!Double.isFinite(o.badLoss()) || !Double.isFinite(graph.score())
                    || !Double.isFinite(graph.params().sumNumber().doubleValue())) {
                double bad = !Double.isFinite(o.badLoss()) ? o.badLoss() : graph.score();
                throw new TrainingDivergedException(String.format(Locale.ROOT,
                        "training diverged: loss is %s at epoch %d, batch %d (of %d workers); lower the learning "
                                + "rate (now %s) or add a warm-up, and check the data for bad values. "
                                + "The last good checkpoint is %s", bad, epoch + 1, Math.max(1, o.badBatch()),
                        options.workers(), config.getLearningRate(), Files.exists(ckpt) ? ckpt : "(none yet)"));
            }
            lossSum = o.lossSum();
            seen = o.seen();
        }
        // single worker: fit batch by batch on this thread (with N workers the epoch was trained above)
        Iterable<DataSet> serialBatches = options.workers() > 1 ? java.util.List.of() : batches;
        for (DataSet ds : serialBatches) {
            GraphRuntime.fit(graph, ds);
            double loss = graph.score();
            int n = (int) ds.getFeatures().size(0);
            if (!Double.isFinite(loss)) {
                throw new TrainingDivergedException(String.format(Locale.ROOT,
                        "training diverged: loss is %s at epoch %d, batch %d; lower the learning rate (now %s) "
                                + "or add a warm-up, and check the data for bad values. The last good "
                                + "checkpoint is %s", loss, epoch + 1, b + 1, config.getLearningRate(),
                        Files.exists(ckpt) ? ckpt : "(none yet)"));
            }
            lossSum += loss * n;
            seen += n;
            b++;
            long now = System.nanoTime();
            if (now - lastLog > 10_000_000_000L && b < itersPerEpoch) {
                double secs = (now - start) / 1e9;
                double rate = seen / secs;
                double etaEpoch = (batches.size() - seen) / rate;
                double etaRun = etaEpoch + (options.epochs() - epoch - 1) * (batches.size() / rate);
                log.info(String.format(Locale.ROOT, "epoch %d/%d batch %d/%d loss %.4f %.1f img/s ETA epoch %s, run %s",
                        epoch + 1, options.epochs(), b, itersPerEpoch, lossSum / seen, rate, duration(etaEpoch),
                        duration(etaRun)));
                lastLog = now;
            }
        }
        graph.incrementEpochCount();
        double trainSecs = (System.nanoTime() - start) / 1e9;
        ModelScoring.Scores scores = ModelScoring.predict(graph, Batches.inOrder(val, options.batchSize(),
                config.getNumClasses(), normalizer));
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("epoch", epoch + 1);
        row.put("lr", currentLr(graph));
        row.put("train_loss", lossSum / Math.max(1, seen));
        double valLoss;
        double valAcc;
        double valBal;
        double valAuc;
        if (data.val().multiLabel() && data.val().hasMasks()) {
            float[][] masks = new float[data.val().size()][];
            for (int i = 0; i < masks.length; i++) masks[i] = data.val().mask(i);
            MaskedMultiLabel m = MaskedMultiLabel.compute(scores.probabilities(), scores.targets(), masks);
            valLoss = m.loss();
            valAcc = m.accuracy();
            valBal = Double.NaN;
            valAuc = m.auc();
        } else if (data.val().multiLabel()) {
            MultiLabelMetrics m = scores.multiLabelMetrics(data.labels());
            valLoss = scores.binaryCrossEntropy();
            valAcc = m.accuracy();
            valBal = Double.NaN;
            valAuc = m.auc();
        } else {
            ClassificationMetrics m = scores.metrics(data.labels());
            valLoss = m.logLoss();
            valAcc = m.accuracy();
            valBal = m.balancedAccuracy();
            valAuc = m.auc();
        }
        row.put("val_loss", valLoss);
        row.put("val_accuracy", valAcc);
        row.put("val_balanced_accuracy", valBal);
        row.put("val_auc", valAuc);
        row.put("seconds", trainSecs);
        row.put("images_per_second", seen / trainSecs);
        log.info(String.format(Locale.ROOT, "epoch %d/%d: train loss %.4f | val loss %.4f acc %.4f bal.acc %.4f "
                        + "AUC %.4f | %.0f s, %.1f img/s", epoch + 1, options.epochs(), lossSum / Math.max(1, seen),
                valLoss, valAcc, valBal, valAuc, trainSecs, seen / trainSecs));
        return row;
    }

    /**
     * Sets the optimizer with its learning-rate schedule on every trainable layer, and the class
     * weights on the loss. DL4J creates the updater at the first fit, so this takes effect on an
     * initialised network as long as it has not been trained in this process yet.
     */
    private void configureForTraining(ComputationGraph graph, int itersPerEpoch, boolean resumed) {
        int warmup = (int) Math.round(options.warmupEpochs() * itersPerEpoch);
        int total = options.epochs() * itersPerEpoch;
        if (!resumed) {
            graph.getConfiguration().setIterationCount(0);
            graph.getConfiguration().setEpochCount(0);
        }
        double[] weights = classWeights();
        for (org.deeplearning4j.nn.graph.vertex.GraphVertex v : graph.getVertices()) {
            if (!v.hasLayer() || !(v.getLayer().conf().getLayer() instanceof BaseLayer layer)) {
                continue; // frozen layers are wrapped and keep their no-op updater
            }
            double lr = config.getLearningRate() * lrFactor.applyAsDouble(v.getVertexName());
            LearningRateSchedule schedule = new LearningRateSchedule(options.schedule(), lr, warmup, total,
                    options.stepEpochs() * itersPerEpoch, options.stepGamma());
            IUpdater updater = ResNeXtGraphFactory.updater(config, schedule);
            layer.setIUpdater(updater);
            GraphVertex confVertex = graph.getConfiguration().getVertices().get(v.getVertexName());
            if (confVertex instanceof LayerVertex lv && lv.getLayerConf().getLayer() instanceof BaseLayer cl
                    && cl != layer) {
                cl.setIUpdater(updater.clone());
            }
        }
        if (weights != null) {
            var lossLayer = graph.getLayer(VertexNames.HEAD_LOSS).conf().getLayer();
            if (lossLayer instanceof LossLayer ll) {
                ll.setLossFn(new LossMCXENT(Nd4j.createFromArray(weights)));
            }
        }
        var existing = graph.getUpdater(false);
        if (existing != null) {
            // DL4J's updater keeps the optimizer settings it was built with: rebuild it from the new
            // ones, keeping the restored optimizer state
            var rebuilt = new org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater(graph);
            if (existing.getStateViewArray() != null && existing.getStateViewArray().length() > 0) {
                rebuilt.setStateViewArray(existing.getStateViewArray());
            }
            graph.setUpdater(rebuilt);
        }
    }

    /** Loss weights per class, or null for an unweighted loss. */
    double[] classWeights() {
        String spec = options.classWeights() == null ? "none" : options.classWeights().trim();
        int k = config.getNumClasses();
        if (spec.equalsIgnoreCase("none")) {
            return null;
        }
        if (data.train().multiLabel()) {
            throw new dev.resnext.InvalidSettingException("class-weights", "applies to single-label tasks; for multi-label data use "
                    + "none");
        }
        double[] w = new double[k];
        if (spec.equalsIgnoreCase("auto")) {
            // inverse frequency, normalised so that the average weight per image is 1 (as sklearn's "balanced")
            int[] counts = data.train().classCounts();
            int n = data.train().size();
            for (int c = 0; c < k; c++) {
                w[c] = counts.length > c && counts[c] > 0 ? (double) n / (k * counts[c]) : 0.0;
            }
            log.info("class weights (auto): {}", java.util.Arrays.toString(w));
            return w;
        }
        String[] parts = spec.split(",");
        if (parts.length != k) {
            throw new dev.resnext.InvalidSettingException("class-weights", "needs " + k + " comma-separated values (one per class), "
                    + "got " + parts.length);
        }
        for (int c = 0; c < k; c++) {
            try {
                w[c] = Double.parseDouble(parts[c].trim());
            } catch (NumberFormatException e) {
                throw new dev.resnext.InvalidSettingException("class-weights", ": '" + parts[c] + "' is not a number");
            }
            if (!(w[c] >= 0) || !Double.isFinite(w[c])) {
                throw new dev.resnext.InvalidSettingException("class-weights", "must be zero or positive numbers");
            }
        }
        if (java.util.Arrays.stream(w).allMatch(x -> x == 0)) {
            // an all-zero weighted loss is 0 whatever the network does: nothing would be learned
            throw new dev.resnext.InvalidSettingException("class-weights", "are all zero; at least one class needs a positive weight");
        }
        return w;
    }

    private ModelMetadata metadata(TrainingState state, boolean checkpoint) {
        Map<String, Object> preprocessing = ModelMetadata.imagePreprocessing(config);
        Map<String, Object> prov = new LinkedHashMap<>(provenance);
        prov.put("data", state.data);
        Map<String, Object> training = new LinkedHashMap<>();
        training.put("epochs", state.epochsCompleted);
        training.put("bestEpoch", state.bestEpoch);
        training.put("monitor", options.monitor());
        training.put("bestMetric", state.bestMetric);
        training.put("validation", state.bestValidation);
        training.put("batchSize", options.batchSize());
        training.put("workers", options.workers());
        training.put("optimizer", config.getOptimizer().name());
        training.put("learningRate", config.getLearningRate());
        training.put("schedule", options.schedule().name());
        training.put("warmupEpochs", options.warmupEpochs());
        training.put("weightDecay", config.getWeightDecay());
        training.put("classWeights", options.classWeights());
        training.put("augmentation", options.augmentation());
        training.put("seed", config.getSeed());
        training.put("checkpoint", checkpoint);
        return ModelMetadata.create(config, data.labels(), preprocessing, prov, training);
    }

    private void logStart(ComputationGraph graph, int itersPerEpoch) {
        log.info("training {} on {} ({} images, classes {}), validating on {} ({} images)", config.getName(),
                data.train().name(), data.train().size(), java.util.Arrays.toString(data.train().classCounts()),
                data.val().name(), data.val().size());
        log.info(String.format(Locale.ROOT, "%d epochs x %d steps of %d images; %s lr %s (%s), weight decay %s",
                options.epochs(), itersPerEpoch, options.batchSize(), config.getOptimizer(), config.getLearningRate(),
                options.schedule().name().toLowerCase(Locale.ROOT), config.getWeightDecay()));
        if (options.workers() > 1) {
            log.info("data-parallel training with {} workers (DL4J ParallelWrapper, parameter averaging after every "
                    + "round of {} batches): {} optimizer steps per epoch", options.workers(), options.workers(),
                    options.stepsPerEpoch(itersPerEpoch));
        }
    }

    private static double currentLr(ComputationGraph graph) {
        Double lr = graph.getLearningRate(VertexNames.HEAD_FC);
        return lr == null ? Double.NaN : lr;
    }

    static boolean sameArchitecture(ResNeXtConfig a, ResNeXtConfig b) {
        return a.getStem() == b.getStem() && a.getStemWidth() == b.getStemWidth()
                && java.util.Arrays.equals(a.getStageDepths(), b.getStageDepths())
                && java.util.Arrays.equals(a.getStagePlanes(), b.getStagePlanes())
                && a.getCardinality() == b.getCardinality() && a.getBaseWidth() == b.getBaseWidth()
                && a.getInputHeight() == b.getInputHeight() && a.getInputWidth() == b.getInputWidth()
                && a.getInputChannels() == b.getInputChannels() && a.getNumClasses() == b.getNumClasses();
    }

    private static byte[] writeState(TrainingState state) {
        try {
            return JSON.writeValueAsBytes(state);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static TrainingState readState(LoadedModel loaded, Path ckpt) {
        byte[] raw = loaded.extras().get(STATE_ENTRY);
        if (raw == null) {
            throw new ResNeXtException(ckpt + " is a model zip, not a training checkpoint (no training state)");
        }
        try {
            return JSON.readValue(new String(raw, StandardCharsets.UTF_8), TrainingState.class);
        } catch (IOException e) {
            throw new ResNeXtException(ckpt + " has an unreadable training state: " + e.getMessage());
        }
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) return "?";
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
