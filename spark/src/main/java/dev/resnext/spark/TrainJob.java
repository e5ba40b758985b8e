package dev.resnext.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.ResNeXtException;
import dev.resnext.data.DecodedImage;
import dev.resnext.data.ImageOps;
import dev.resnext.data.Normalization;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.io.AtomicFiles;
import dev.resnext.model.InputShape;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.runtime.GraphRuntime;
import dev.resnext.transfer.FineTuning;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SerializableWritable;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Training and fine-tuning on Spark with DL4J's parameter averaging
 * ({@link ParameterAveragingTrainingMaster}). Images are decoded and prepared on the executors
 * with the main project's code; fine-tuning builds its network with {@link FineTuning} (new head,
 * freeze policy, stem adaptation for other channels) exactly as {@code resnext finetune}.
 *
 * <p>The driver writes a checkpoint (weights, optimizer state, progress) after every epoch and
 * keeps the best epoch's model beside it; a job restarted with resume after a driver failure
 * continues after the last checkpointed epoch. The model zip is written once, at the end, from the
 * best epoch; executors write nothing, so tasks re-run after a lost executor cannot duplicate it.
 */
final class TrainJob {
    private static final Logger log = LoggerFactory.getLogger(TrainJob.class);
    static final String CHECKPOINT = "checkpoint.zip";
    static final String BEST = "best.zip";
    private static final String PROGRESS = "spark-progress.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainJob() {
    }

    /** One prepared image: CHW pixels in [0, 1], its class, and whether it is held out for validation. */
    record Example(float[] pixels, int label, boolean val) implements Serializable {
    }

    /** Runs the job; returns its summary (per-epoch history, best epoch, model path). */
    static Map<String, Object> run(JavaSparkContext sc, TrainSettings s) throws IOException {
        Configuration hconf = sc.hadoopConfiguration();
        List<String> files = SparkFiles.listImages(s.data(), hconf);
        String root = SparkFiles.qualify(s.data(), hconf);
        List<String> classes = new ArrayList<>(files.stream().map(SparkFiles::parentName).distinct().sorted().toList());
        if (classes.size() < 2) {
            throw new ResNeXtException("need at least 2 class folders under " + s.data() + ", found " + classes);
        }
        Path ckpt = s.checkpointDir().resolve(CHECKPOINT);
        Path best = s.checkpointDir().resolve(BEST);
        boolean fineTune = s.from() != null;

        LoadedModel resumed = null;
        Map<String, Object> progress = null;
        if (s.resume()) {
            if (!Files.isRegularFile(ckpt)) {
                throw new ResNeXtException("nothing to resume: no checkpoint " + ckpt);
            }
            resumed = ModelZip.load(ckpt, true);
            byte[] p = resumed.extras().get(PROGRESS);
            if (p == null) throw new ResNeXtException(ckpt + " is not a checkpoint of a Spark job");
            progress = JSON.readValue(new String(p, StandardCharsets.UTF_8), Map.class);
            if (!resumed.metadata().labels().equals(classes)) {
                throw new ResNeXtException("cannot resume: the checkpoint's classes " + resumed.metadata().labels()
                        + " differ from the data's " + classes);
            }
        }

        ResNeXtConfig config;
        ComputationGraph graph;
        DataNormalization normalizer = null;
        Map<String, Object> provenance = new LinkedHashMap<>();
        provenance.put("data", Map.of("train", s.data(), "val", "seeded hash split of the same folder"));
        provenance.put("trainer", "spark");
        if (resumed != null) {
            config = resumed.metadata().config();
            graph = resumed.graph();
            normalizer = resumed.normalizer();
            provenance = new LinkedHashMap<>(resumed.metadata().provenance());
            log.info("resuming from {} after epoch {}", ckpt, progress.get("epochsDone"));
        } else if (fineTune) {
            LoadedModel parent = ModelZip.load(s.from());
            ResNeXtConfig pc = parent.metadata().config();
            InputShape shape = s.input() != null ? s.input()
                    : new InputShape(pc.getInputHeight(), pc.getInputWidth(), firstImageChannels(files, hconf));
            ResNeXtConfig.Builder cb = FineTuning.childConfig(pc, classes.size(), false, shape.height(),
                    shape.width(), shape.channels()).toBuilder();
            if (s.lr() != null) cb.learningRate(s.lr());
            if (s.seed() != null) cb.seed(s.seed());
            config = cb.build();
            s.freeze().boundary(config); // validates the stage before any work
            graph = FineTuning.prepare(parent, config, s.freeze());
            useOptimizer(graph, config);
            // the parent's normaliser when the channels are unchanged (pre-trained weights expect it)
            if (shape.channels() == pc.getInputChannels() && parent.normalizer() instanceof NormalizerStandardize ns) {
                normalizer = ns;
            }
            provenance.put("parent", s.from().toString());
            provenance.put("parentModel", pc.getName());
            provenance.put("parentProvenance", parent.metadata().provenance());
            provenance.put("freeze", s.freeze().toString());
        } else {
            ResNeXtConfig base = Presets.get(s.preset());
            InputShape shape = s.input() != null ? s.input()
                    : new InputShape(base.getInputHeight(), base.getInputWidth(), firstImageChannels(files, hconf));
            ResNeXtConfig.Builder cb = base.toBuilder().input(shape.height(), shape.width(), shape.channels())
                    .numClasses(classes.size());
            if (s.lr() != null) cb.learningRate(s.lr());
            if (s.seed() != null) cb.seed(s.seed());
            config = cb.build();
            graph = GraphRuntime.create(ResNeXtGraphFactory.build(config));
        }
        InputShape shape = new InputShape(config.getInputHeight(), config.getInputWidth(), config.getInputChannels());

        // decode and prepare on the executors; the split is a seeded hash of the path below the root
        Broadcast<SerializableWritable<Configuration>> conf = sc.broadcast(new SerializableWritable<>(hconf));
        JavaRDD<Example> examples = sc.parallelize(files, s.workers())
                .mapPartitions(new Prepare(shape, classes, root, config.getSeed(), s.valFraction(), conf)).cache();
        JavaRDD<Example> train = examples.filter(new IsVal(false));
        JavaRDD<Example> val = examples.filter(new IsVal(true));
        if (normalizer == null) {
            normalizer = fitNormalizer(train, shape);
        }
        NormalizerStandardize ns = (NormalizerStandardize) normalizer;
        float[] mean = ns.getMean().toFloatVector();
        float[] std = ns.getStd().toFloatVector();
        int k = classes.size();
        JavaRDD<DataSet> trainSets = train.map(new ToDataSet(shape, k, mean, std));
        JavaRDD<DataSet> valSets = val.map(new ToDataSet(shape, k, mean, std));
        long nTrain = train.count();
        long nVal = val.count();
        log.info("{} classes {}, {} training and {} validation images ({} unreadable skipped), input {}", k, classes,
                nTrain, nVal, files.size() - nTrain - nVal, shape);

        ParameterAveragingTrainingMaster tm = new ParameterAveragingTrainingMaster.Builder(1)
                .batchSizePerWorker(s.batch())
                .averagingFrequency(s.averaging())
                .workerPrefetchNumBatches(2)
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .collectTrainingStats(false)
                .build();
        SparkComputationGraph net = new SparkComputationGraph(sc, graph, tm);
        List<Map<String, Object>> history = new ArrayList<>();
        double bestAcc = -1;
        int bestEpoch = 0;
        int start = 0;
        if (progress != null) {
            start = ((Number) progress.get("epochsDone")).intValue();
            bestEpoch = ((Number) progress.get("bestEpoch")).intValue();
            bestAcc = ((Number) progress.get("bestMetric")).doubleValue();
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> h = (List<Map<String, Object>>) progress.get("history");
            history.addAll(h);
            if (start >= s.epochs()) {
                log.info("the checkpoint already has {} of {} epochs", start, s.epochs());
            }
        }
        Files.createDirectories(s.checkpointDir());
        try (Progress p = new Progress(sc, fineTune ? "fine-tuning" : "training")) {
            for (int epoch = start; epoch < s.epochs(); epoch++) {
                long t0 = System.nanoTime();
                net.fit(trainSets);
                double secs = (System.nanoTime() - t0) / 1e9;
                double loss = net.getScore();
                if (!Double.isFinite(loss)) {
                    throw new dev.resnext.train.TrainingDivergedException(
                            "training diverged: loss is " + loss + " at epoch " + (epoch + 1));
                }
                Evaluation ev = nVal > 0 ? net.evaluate(valSets) : null;
                double acc = ev != null ? ev.accuracy() : Double.NaN;
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("epoch", epoch + 1);
                row.put("train_loss", loss);
                row.put("val_accuracy", acc);
                row.put("seconds", secs);
                row.put("images_per_second", nTrain / secs);
                history.add(row);
                log.info(String.format(Locale.ROOT, "epoch %d/%d: train loss %.4f | val acc %.4f | %.1f s, %.1f img/s",
                        epoch + 1, s.epochs(), loss, acc, secs, nTrain / secs));
                Map<String, Object> training = training(s, sc.master(), history, fineTune);
                if (nVal == 0 || acc > bestAcc) {
                    bestAcc = nVal == 0 ? Double.NaN : acc;
                    bestEpoch = epoch + 1;
                    training.put("bestEpoch", bestEpoch);
                    training.put("bestMetric", bestAcc);
                    ModelZip.save(best, net.getNetwork(), ModelMetadata.create(config, classes,
                            ModelMetadata.imagePreprocessing(config), provenance, training), normalizer, false);
                }
                training.put("bestEpoch", bestEpoch);
                training.put("bestMetric", bestAcc);
                Map<String, Object> state = new LinkedHashMap<>();
                state.put("epochsDone", epoch + 1);
                state.put("bestEpoch", bestEpoch);
                state.put("bestMetric", Double.isFinite(bestAcc) ? bestAcc : -1);
                state.put("history", history);
                ModelZip.save(ckpt, net.getNetwork(), ModelMetadata.create(config, classes,
                                ModelMetadata.imagePreprocessing(config), provenance, training), normalizer, true,
                        Map.of(PROGRESS, JSON.writeValueAsBytes(state)));
                log.info("epoch {}: checkpoint {}", epoch + 1, ckpt);
            }
        } finally {
            tm.deleteTempFiles(sc);
        }
        if (!Files.isRegularFile(best)) {
            throw new ResNeXtException("no model to write: " + best + " is missing");
        }
        // the one write of the model: the best epoch, copied atomically
        AtomicFiles.write(s.out(), o -> Files.copy(best, o));
        log.info("wrote {} (epoch {}, val accuracy {})", s.out(), bestEpoch, bestAcc);
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("model", s.out().toString());
        summary.put("epochs", s.epochs());
        summary.put("resumedAfter", start);
        summary.put("bestEpoch", bestEpoch);
        summary.put("val_accuracy", bestAcc);
        summary.put("history", history);
        return summary;
    }

    private static Map<String, Object> training(TrainSettings s, String master, List<Map<String, Object>> history,
                                                boolean fineTune) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("engine", "dl4j-spark ParameterAveragingTrainingMaster");
        t.put("task", fineTune ? "finetune" : "train");
        t.put("sparkMaster", master);
        t.put("workers", s.workers());
        t.put("batchSizePerWorker", s.batch());
        t.put("averagingFrequency", s.averaging());
        t.put("epochs", history.size());
        t.put("monitor", "val_accuracy");
        t.put("checkpoint", true);
        return t;
    }

    /**
     * The optimizer of {@code config} (constant rate) on every trainable layer, in the layers and
     * in the configuration the Spark workers rebuild the network from; frozen layers keep their
     * no-op updater. FineTuning leaves a placeholder SGD for the caller's trainer to replace.
     */
    private static void useOptimizer(ComputationGraph graph, ResNeXtConfig config) {
        IUpdater updater = ResNeXtGraphFactory.updater(config);
        for (var v : graph.getVertices()) {
            if (!v.hasLayer() || !(v.getLayer().conf().getLayer() instanceof BaseLayer layer)) {
                continue;
            }
            layer.setIUpdater(updater.clone());
            if (graph.getConfiguration().getVertices().get(v.getVertexName()) instanceof LayerVertex lv
                    && lv.getLayerConf().getLayer() instanceof BaseLayer cl && cl != layer) {
                cl.setIUpdater(updater.clone());
            }
        }
    }

    private static int firstImageChannels(List<String> files, Configuration conf) {
        for (String f : files) {
            try {
                return SparkFiles.decode(f, conf).channels();
            } catch (ResNeXtException e) {
                log.warn("unreadable: {}", e.getMessage());
            }
        }
        throw new ResNeXtException("no readable image among " + files.size() + " files");
    }

    /** Per-channel mean and standard deviation of the training images (as Normalization.fit), by a Spark reduction. */
    private static NormalizerStandardize fitNormalizer(JavaRDD<Example> train, InputShape shape) {
        int c = shape.channels();
        int plane = shape.height() * shape.width();
        double[] sums = train.map(new ChannelSums(c, plane)).reduce(new AddArrays());
        long n = (long) sums[2 * c];
        float[] mean = new float[c];
        float[] std = new float[c];
        for (int ch = 0; ch < c; ch++) {
            double m = sums[ch] / (n * (double) plane);
            mean[ch] = (float) m;
            std[ch] = (float) Math.max(1e-6, Math.sqrt(Math.max(0, sums[c + ch] / (n * (double) plane) - m * m)));
        }
        return Normalization.of(mean, std);
    }

    // Spark functions as small named classes (serialised to the executors)

    /** Reads, decodes and prepares the images of a partition; unreadable files are logged and left out. */
    static final class Prepare implements FlatMapFunction<Iterator<String>, Example> {
        private static final long serialVersionUID = 1L;
        private final int[] shape; // InputShape is not Serializable
        private final List<String> classes;
        private final String root;
        private final long seed;
        private final double valFraction;
        private final Broadcast<SerializableWritable<Configuration>> conf;

        Prepare(InputShape shape, List<String> classes, String root, long seed, double valFraction,
                Broadcast<SerializableWritable<Configuration>> conf) {
            this.shape = new int[] {shape.height(), shape.width(), shape.channels()};
            this.classes = new ArrayList<>(classes);
            this.root = root;
            this.seed = seed;
            this.valFraction = valFraction;
            this.conf = conf;
        }

        @Override
        public Iterator<Example> call(Iterator<String> files) {
            InputShape s = new InputShape(shape[0], shape[1], shape[2]);
            Configuration hconf = conf.value().value();
            List<Example> out = new ArrayList<>();
            while (files.hasNext()) {
                String f = files.next();
                DecodedImage img;
                try {
                    img = SparkFiles.decode(f, hconf);
                } catch (ResNeXtException e) {
                    log.warn("skipped unreadable {}", e.getMessage());
                    continue;
                }
                boolean val = Math.floorMod((SparkFiles.relative(f, root) + seed).hashCode(), 1000) < valFraction * 1000;
                out.add(new Example(ImageOps.toInput(img, s), classes.indexOf(SparkFiles.parentName(f)), val));
            }
            return out.iterator();
        }
    }

    static final class IsVal implements Function<Example, Boolean> {
        private static final long serialVersionUID = 1L;
        private final boolean val;

        IsVal(boolean val) {
            this.val = val;
        }

        @Override
        public Boolean call(Example e) {
            return e.val() == val;
        }
    }

    /** Per channel: sum, sum of squares; last element: image count. */
    static final class ChannelSums implements Function<Example, double[]> {
        private static final long serialVersionUID = 1L;
        private final int c;
        private final int plane;

        ChannelSums(int c, int plane) {
            this.c = c;
            this.plane = plane;
        }

        @Override
        public double[] call(Example e) {
            double[] s = new double[2 * c + 1];
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < plane; i++) {
                    double v = e.pixels()[ch * plane + i];
                    s[ch] += v;
                    s[c + ch] += v * v;
                }
            }
            s[2 * c] = 1;
            return s;
        }
    }

    static final class AddArrays implements Function2<double[], double[], double[]> {
        private static final long serialVersionUID = 1L;

        @Override
        public double[] call(double[] x, double[] y) {
            double[] s = x.clone();
            for (int i = 0; i < s.length; i++) s[i] += y[i];
            return s;
        }
    }

    /** Standardised features [1, C, H, W] and a one-hot label. */
    static final class ToDataSet implements Function<Example, DataSet> {
        private static final long serialVersionUID = 1L;
        private final int h;
        private final int w;
        private final int c;
        private final int k;
        private final float[] mean;
        private final float[] std;

        ToDataSet(InputShape shape, int k, float[] mean, float[] std) {
            this.h = shape.height();
            this.w = shape.width();
            this.c = shape.channels();
            this.k = k;
            this.mean = mean.clone();
            this.std = std.clone();
        }

        @Override
        public DataSet call(Example e) {
            int plane = h * w;
            float[] px = e.pixels().clone();
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < plane; i++) px[ch * plane + i] = (px[ch * plane + i] - mean[ch]) / std[ch];
            }
            float[] label = new float[k];
            label[e.label()] = 1f;
            return new DataSet(Nd4j.create(px, new long[] {1, c, h, w}, 'c'),
                    Nd4j.create(label, new long[] {1, k}, 'c'));
        }
    }
}
