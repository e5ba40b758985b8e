package dev.resnext.spark;

import dev.resnext.runtime.GraphRuntime;

import dev.resnext.data.DecodedImage;
import dev.resnext.data.ImageDecoder;
import dev.resnext.data.ImageOps;
import dev.resnext.data.Normalization;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.model.InputShape;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.input.PortableDataStream;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.TrainingMaster;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Spark training job: reads an image folder (one sub-folder per class) from any path Spark reads
 * (local, HDFS, S3...), decodes and prepares the images on the executors exactly as the
 * {@code resnext} commands do (bit-depth scaling, channels, bilinear resize, per-channel
 * standardisation fitted on the training images), trains the same ResNeXt configuration with
 * DL4J's Spark engine (parameter averaging, {@link ParameterAveragingTrainingMaster}), and writes
 * a model zip of this project's format that {@code resnext evaluate} and {@code predict} open.
 *
 * <pre>
 * spark-submit --class dev.resnext.spark.SparkTrain resnext-spark.jar --data hdfs:///shapes --out model.zip
 * java -cp ... dev.resnext.spark.SparkTrain --master local[2] --data data/shapes --out model.zip
 * </pre>
 */
public final class SparkTrain {
    private static final Logger log = LoggerFactory.getLogger(SparkTrain.class);

    private SparkTrain() {
    }

    /** One prepared image: CHW pixels in [0, 1], its class, and whether it is held out for validation. */
    record Example(float[] pixels, int label, boolean val) implements Serializable {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = parse(args);
        String data = required(a, "data");
        Path out = Path.of(a.getOrDefault("out", "models/spark-model.zip"));
        int epochs = Integer.parseInt(a.getOrDefault("epochs", "5"));
        int batch = Integer.parseInt(a.getOrDefault("batch", "16"));
        int workers = Integer.parseInt(a.getOrDefault("workers", "2"));
        int averaging = Integer.parseInt(a.getOrDefault("averaging-frequency", "1"));
        double valFraction = Double.parseDouble(a.getOrDefault("val-fraction", "0.2"));
        ResNeXtConfig base = Presets.get(a.getOrDefault("model", "small"));
        InputShape shape = a.containsKey("input") ? InputShape.parse(a.get("input"))
                : new InputShape(base.getInputHeight(), base.getInputWidth(), base.getInputChannels());

        SparkConf conf = new SparkConf().setAppName("resnext-spark-train");
        if (a.containsKey("master")) conf.setMaster(a.get("master"));
        if (!conf.contains("spark.master")) conf.setMaster("local[" + workers + "]");
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            sc.setLogLevel("WARN");
            // <root>/<class>/<image>: the class is the parent folder's name
            JavaRDD<Tuple2<String, byte[]>> files = sc.binaryFiles(stripSlash(data) + "/*/*", workers)
                    .filter(new IsImage()).map(new ReadBytes());
            List<String> classes = new ArrayList<>(files.map(new ClassOf()).distinct().collect());
            classes.sort(null);
            if (classes.size() < 2) {
                throw new IllegalArgumentException("need at least 2 class folders under " + data + ", found " + classes);
            }
            ResNeXtConfig.Builder cb = base.toBuilder().input(shape.height(), shape.width(), shape.channels())
                    .numClasses(classes.size());
            if (a.containsKey("lr")) cb.learningRate(Double.parseDouble(a.get("lr")));
            if (a.containsKey("seed")) cb.seed(Long.parseLong(a.get("seed")));
            ResNeXtConfig config = cb.build();
            long seed = config.getSeed();

            // decode and prepare on the executors; the split is a seeded hash of the path (reproducible)
            JavaRDD<Example> examples = files.map(new Prepare(shape, classes, seed, valFraction)).cache();
            JavaRDD<Example> train = examples.filter(new IsVal(false));
            JavaRDD<Example> val = examples.filter(new IsVal(true));

            // per-channel mean and standard deviation of the training images (as Normalization.fit)
            int c = shape.channels();
            int plane = shape.height() * shape.width();
            double[] sums = train.map(new ChannelSums(c, plane)).reduce(new AddArrays());
            long nTrain = (long) sums[2 * c];
            float[] mean = new float[c];
            float[] std = new float[c];
            for (int ch = 0; ch < c; ch++) {
                double m = sums[ch] / (nTrain * (double) plane);
                mean[ch] = (float) m;
                std[ch] = (float) Math.max(1e-6, Math.sqrt(Math.max(0, sums[c + ch] / (nTrain * (double) plane) - m * m)));
            }
            NormalizerStandardize normalizer = Normalization.of(mean, std);
            int k = classes.size();
            JavaRDD<DataSet> trainSets = train.map(new ToDataSet(shape, k, mean, std));
            JavaRDD<DataSet> valSets = val.map(new ToDataSet(shape, k, mean, std));
            long nVal = val.count();
            log.info("{} classes {}, {} training and {} validation images, input {}", k, classes, nTrain, nVal, shape);

            ComputationGraph graph = GraphRuntime.create(ResNeXtGraphFactory.build(config));
            TrainingMaster<?, ?> tm = new ParameterAveragingTrainingMaster.Builder(1)
                    .batchSizePerWorker(batch)
                    .averagingFrequency(averaging)
                    .workerPrefetchNumBatches(2)
                    .rddTrainingApproach(RDDTrainingApproach.Direct)
                    .collectTrainingStats(false)
                    .build();
            SparkComputationGraph net = new SparkComputationGraph(sc, graph, tm);
            List<Map<String, Object>> history = new ArrayList<>();
            double bestAcc = -1;
            int bestEpoch = 0;
            for (int epoch = 0; epoch < epochs; epoch++) {
                long t0 = System.nanoTime();
                net.fit(trainSets);
                double secs = (System.nanoTime() - t0) / 1e9;
                Evaluation ev = nVal > 0 ? net.evaluate(valSets) : null;
                double acc = ev != null ? ev.accuracy() : Double.NaN;
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("epoch", epoch + 1);
                row.put("train_loss", net.getScore());
                row.put("val_accuracy", acc);
                row.put("seconds", secs);
                row.put("images_per_second", nTrain / secs);
                history.add(row);
                log.info(String.format(Locale.ROOT, "epoch %d/%d: train loss %.4f | val acc %.4f | %.1f s, %.1f img/s",
                        epoch + 1, epochs, net.getScore(), acc, secs, nTrain / secs));
                if (!Double.isFinite(net.getScore())) {
                    throw new IllegalStateException("training diverged: loss is " + net.getScore() + " at epoch "
                            + (epoch + 1) + "; lower --lr");
                }
                if (nVal == 0 || acc > bestAcc) {
                    bestAcc = acc;
                    bestEpoch = epoch + 1;
                    save(out, net.getNetwork(), config, classes, normalizer, data, history, bestEpoch, bestAcc,
                            workers, batch, averaging, sc.master());
                }
            }
            tm.deleteTempFiles(sc);
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("model", out.toString());
            summary.put("epochs", epochs);
            summary.put("bestEpoch", bestEpoch);
            summary.put("val_accuracy", bestAcc);
            summary.put("history", history);
            System.out.println(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(summary));
        }
    }

    // Spark functions as small named classes (serialised to the executors; no lambdas, whose
    // serialised form is fragile across JVMs)

    static final class IsImage implements Function<Tuple2<String, PortableDataStream>, Boolean> {
        @Override
        public Boolean call(Tuple2<String, PortableDataStream> t) {
            return ImageDecoder.looksLikeImage(Path.of(fileName(t._1())));
        }
    }

    static final class ReadBytes implements Function<Tuple2<String, PortableDataStream>, Tuple2<String, byte[]>> {
        @Override
        public Tuple2<String, byte[]> call(Tuple2<String, PortableDataStream> t) {
            return new Tuple2<>(t._1(), t._2().toArray());
        }
    }

    static final class ClassOf implements Function<Tuple2<String, byte[]>, String> {
        @Override
        public String call(Tuple2<String, byte[]> t) {
            return parentName(t._1());
        }
    }

    /** Decodes and prepares one image as the resnext commands do; a seeded hash of the path picks validation. */
    static final class Prepare implements Function<Tuple2<String, byte[]>, Example> {
        private final int[] shape; // InputShape is not Serializable
        private final List<String> classes;
        private final long seed;
        private final double valFraction;

        Prepare(InputShape shape, List<String> classes, long seed, double valFraction) {
            this.shape = new int[] {shape.height(), shape.width(), shape.channels()};
            this.classes = new ArrayList<>(classes);
            this.seed = seed;
            this.valFraction = valFraction;
        }

        @Override
        public Example call(Tuple2<String, byte[]> t) throws Exception {
            java.awt.image.BufferedImage bi = ImageIO.read(new ByteArrayInputStream(t._2()));
            if (bi == null) {
                throw new IllegalArgumentException("cannot decode image " + t._1());
            }
            DecodedImage img = ImageDecoder.fromBufferedImage(bi);
            boolean val = Math.floorMod((t._1() + seed).hashCode(), 1000) < valFraction * 1000;
            return new Example(ImageOps.toInput(img, new InputShape(shape[0], shape[1], shape[2])), classes.indexOf(parentName(t._1())), val);
        }
    }

    static final class IsVal implements Function<Example, Boolean> {
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
        @Override
        public double[] call(double[] x, double[] y) {
            double[] s = x.clone();
            for (int i = 0; i < s.length; i++) s[i] += y[i];
            return s;
        }
    }

    /** Standardised features [1, C, H, W] and a one-hot label. */
    static final class ToDataSet implements Function<Example, DataSet> {
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

    private static void save(Path out, ComputationGraph graph, ResNeXtConfig config, List<String> classes,
                             NormalizerStandardize normalizer, String data, List<Map<String, Object>> history,
                             int bestEpoch, double bestAcc, int workers, int batch, int averaging, String master) {
        Map<String, Object> preprocessing = ModelMetadata.imagePreprocessing(config);
        Map<String, Object> provenance = new LinkedHashMap<>();
        provenance.put("data", Map.of("train", data, "val", "seeded hash split of the same folder"));
        provenance.put("trainer", "spark");
        Map<String, Object> training = new LinkedHashMap<>();
        training.put("engine", "dl4j-spark ParameterAveragingTrainingMaster");
        training.put("sparkMaster", master);
        training.put("workers", workers);
        training.put("batchSizePerWorker", batch);
        training.put("averagingFrequency", averaging);
        training.put("epochs", history.size());
        training.put("bestEpoch", bestEpoch);
        training.put("monitor", "val_accuracy");
        training.put("bestMetric", bestAcc);
        training.put("optimizer", config.getOptimizer().name());
        training.put("learningRate", config.getLearningRate());
        training.put("seed", config.getSeed());
        training.put("checkpoint", false);
        ModelZip.save(out, graph, ModelMetadata.create(config, classes, preprocessing, provenance, training),
                normalizer, false);
        log.info("epoch {}: val accuracy {}; saved {}", bestEpoch, bestAcc, out);
    }

    private static String fileName(String uri) {
        return uri.substring(uri.lastIndexOf('/') + 1);
    }

    private static String parentName(String uri) {
        String p = uri.substring(0, uri.lastIndexOf('/'));
        return p.substring(p.lastIndexOf('/') + 1);
    }

    private static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    private static String required(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) throw new IllegalArgumentException("--" + key + " is required");
        return v;
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("usage: SparkTrain --data DIR [--out ZIP] [--master URL] "
                        + "[--model small] [--input HxWxC] [--epochs N] [--batch N] [--workers N] [--lr LR] "
                        + "[--seed N] [--val-fraction F] [--averaging-frequency N]; bad argument " + args[i]);
            }
            m.put(args[i].substring(2), args[++i]);
        }
        return m;
    }
}
