package dev.resnext.transfer;

import dev.resnext.data.Batches;
import dev.resnext.data.DecodedImage;
import dev.resnext.data.ImageSet;
import dev.resnext.data.Normalization;
import dev.resnext.data.PreparedImages;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.runtime.GraphRuntime;
import dev.resnext.model.InputShape;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.model.Topology;
import dev.resnext.model.VertexNames;
import dev.resnext.train.MetricsFiles;
import dev.resnext.train.Trainer;
import dev.resnext.train.TrainingData;
import dev.resnext.train.TrainingOptions;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Head-only fine-tuning on cached features. With the whole backbone frozen (and no augmentation),
 * every epoch would push the same images through the same frozen layers; instead the pooled
 * features ({@code head.pool}) are computed once, the classifier is trained on them, and its
 * weights are put back into the full network. An epoch then costs a fraction of a forward pass.
 */
public final class FeatureCache {
    private static final Logger log = LoggerFactory.getLogger(FeatureCache.class);

    private FeatureCache() {
    }

    /** Trains the head of {@code graph} on cached features and writes the full model to {@code opts.out()}. */
    public static Trainer.Result train(ResNeXtConfig child, TrainingData data, TrainingOptions opts,
                                       ComputationGraph graph, DataNormalization normalizer,
                                       Map<String, Object> provenance) {
        InputShape shape = new InputShape(child.getInputHeight(), child.getInputWidth(), child.getInputChannels());
        long start = System.nanoTime();
        ImageSet trainFeatures = features(graph, data.train(), shape, normalizer, opts.batchSize(), child);
        ImageSet valFeatures = features(graph, data.val(), shape, normalizer, opts.batchSize(), child);
        int dim = trainFeatures.decode(0).channels();
        log.info(String.format(Locale.ROOT, "cached %d-dimensional features of %d + %d images in %.1f s", dim,
                trainFeatures.size(), valFeatures.size(), (System.nanoTime() - start) / 1e9));

        ResNeXtConfig headConfig = child.toBuilder().input(1, 1, dim).build();
        ComputationGraph head = headGraph(headConfig, dim);
        FineTuning.copyHead(graph, head);
        float[] zeros = new float[dim];
        float[] ones = new float[dim];
        java.util.Arrays.fill(ones, 1f);
        TrainingOptions headOpts = opts.withPhase(opts.checkpointDir().resolve("head.zip"), opts.checkpointDir(),
                opts.epochs(), opts.warmupEpochs());
        TrainingData headData = new TrainingData(trainFeatures, valFeatures, data.labels(), data.description());
        Trainer.Result r = new Trainer(headConfig, headData, headOpts, head, Normalization.of(zeros, ones),
                provenance).run();

        ComputationGraph best = ModelZip.load(r.bestModel()).graph();
        FineTuning.copyHead(best, graph);
        Map<String, Object> training = new LinkedHashMap<>();
        training.put("epochs", r.epochsCompleted());
        training.put("bestEpoch", r.bestEpoch());
        training.put("monitor", opts.monitor());
        training.put("validation", r.bestValidation());
        training.put("featureCache", true);
        training.put("batchSize", opts.batchSize());
        training.put("optimizer", child.getOptimizer().name());
        training.put("learningRate", child.getLearningRate());
        Map<String, Object> preprocessing = new LinkedHashMap<>();
        preprocessing.put("normalization", "per-channel standardization (normalizer.bin)");
        Map<String, Object> prov = new LinkedHashMap<>(provenance);
        prov.put("data", data.description());
        ModelZip.save(opts.out(), graph, ModelMetadata.create(child, data.labels(), preprocessing, prov, training),
                normalizer, false);
        MetricsFiles.write(opts.out(), r.history());
        log.info("wrote {}", opts.out());
        return new Trainer.Result(opts.out(), r.epochsCompleted(), r.bestEpoch(), r.bestValidation(),
                r.stoppedEarly(), r.history());
    }

    /** Global average pooling over a 1x1 "image" of features, then the classifier and loss. */
    private static ComputationGraph headGraph(ResNeXtConfig c, int dim) {
        ComputationGraphConfiguration.GraphBuilder g = new NeuralNetConfiguration.Builder().seed(c.getSeed())
                .dataType(ResNeXtGraphFactory.dataType(c.getDataType())).updater(ResNeXtGraphFactory.updater(c))
                .weightDecay(c.getWeightDecay(), true)
                .graphBuilder().addInputs(VertexNames.INPUT).setInputTypes(InputType.convolutional(1, 1, dim));
        // the same pooling, classifier and loss as the full network's head, so that its weights fit both
        g.setOutputs(ResNeXtGraphFactory.addHead(g, c, new Topology.Head(dim, c.getNumClasses()), VertexNames.INPUT));
        return GraphRuntime.create(ResNeXtGraphFactory.finish(g));
    }

    /** The pooled features of every image of {@code set}, as 1x1 "images" with one channel per feature. */
    static ImageSet features(ComputationGraph graph, ImageSet set, InputShape shape, DataNormalization normalizer,
                             int batch, ResNeXtConfig c) {
        PreparedImages images = new PreparedImages(set, shape);
        float[][] feats = new float[set.size()][];
        int i = 0;
        for (DataSet ds : Batches.inOrder(images, batch, c.getNumClasses(), normalizer)) {
            INDArray pooled = GraphRuntime.pooled(graph, ds.getFeatures()).castTo(DataType.FLOAT);
            for (float[] row : pooled.toFloatMatrix()) {
                feats[i++] = row;
            }
        }
        return new ImageSet() {
            @Override public int size() { return set.size(); }
            @Override public int label(int k) { return set.label(k); }
            @Override public boolean multiLabel() { return set.multiLabel(); }
            @Override public int[] targets(int k) { return set.targets(k); }
            @Override public List<String> classNames() { return set.classNames(); }
            @Override public String describe(int k) { return set.describe(k); }
            @Override public DecodedImage decode(int k) { return new DecodedImage(feats[k], 1, 1, feats[k].length, 8); }
            @Override public String name() { return "features of " + set.name(); }
        };
    }
}
