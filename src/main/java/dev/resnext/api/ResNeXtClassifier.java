package dev.resnext.api;

import dev.resnext.ResNeXtException;
import dev.resnext.backend.Backends;
import dev.resnext.data.DecodedImage;
import dev.resnext.data.ImageDecoder;
import dev.resnext.data.ImageOps;
import dev.resnext.eval.Scorer;
import dev.resnext.eval.TestTimeAugmentation;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.model.InputShape;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.runtime.GraphRuntime;
import dev.resnext.runtime.inference.InferencePlan;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.factory.Nd4j;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Reuse of a trained model in a Java program or service: load a model zip once, then classify
 * images from any number of threads.
 *
 * <pre>{@code
 * ResNeXtClassifier clf = ResNeXtClassifier.load(Path.of("models/model.zip"));
 * Prediction p = clf.classify(Path.of("scan.png"));
 * System.out.println(p.label() + " " + p.probability());
 * }</pre>
 *
 * <p>The answer follows the model's stored decision: its temperature scaling (when calibrated)
 * and its operating point (binary: a threshold on class 1; multi-label: one threshold per finding,
 * the findings present are listed). {@link #withThresholds} overrides the stored thresholds and
 * {@link #withTta} averages test-time views; both return a new classifier sharing the network.
 *
 * <p>Images are prepared exactly as in training (bit-depth scaling, channel conversion, bilinear
 * resize, the zip's normaliser). Decoding and preparation run concurrently in the callers'
 * threads; the network itself runs one batch at a time, because a DL4J graph is not safe for
 * concurrent use.
 */
public final class ResNeXtClassifier {
    /** Input arrays kept, one per batch size: the powers of two from 1 to 32 that a server's chunks use. */
    private static final int MAX_CACHED_INPUTS = 6;

    private final ComputationGraph graph;
    private final DataNormalization normalizer;
    private final ModelMetadata metadata;
    private final InputShape shape;
    private final List<String> labels;
    private final ReentrantLock lock;
    private final Scorer scorer;
    private final double[] thresholds;
    private final String thresholdSource;
    /** The normaliser's per-channel mean and standard deviation when it is a per-channel standardiser, else null. */
    private final float[] channelMean;
    private final float[] channelStd;
    /** Whether inputs are written through host memory into {@link #inputs} (the CPU backend). */
    private final boolean hostInput;
    /** Input arrays by batch size, the most recently used few (shared by derived classifiers, under the lock). */
    private final Map<Integer, INDArray> inputs;

    private ResNeXtClassifier(LoadedModel model) {
        this.graph = model.graph();
        this.normalizer = model.normalizer();
        this.metadata = model.metadata();
        ResNeXtConfig c = metadata.config();
        this.shape = new InputShape(c.getInputHeight(), c.getInputWidth(), c.getInputChannels());
        this.labels = metadata.labels().isEmpty() ? ModelMetadata.indexLabels(c.getNumClasses()) : metadata.labels();
        this.lock = new ReentrantLock();
        this.scorer = new Scorer(graph, metadata.temperatures(), c.isMultiLabel(), TestTimeAugmentation.NONE);
        float[][] stats = channelStatistics(normalizer, shape.channels());
        this.channelMean = stats == null ? null : stats[0];
        this.channelStd = stats == null ? null : stats[1];
        this.hostInput = dev.resnext.backend.OneDnn.isCpuBackend();
        this.inputs = new java.util.LinkedHashMap<>(8, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Integer, INDArray> eldest) {
                return size() > MAX_CACHED_INPUTS;
            }
        };
        ModelMetadata.OperatingPoint op = metadata.operatingPoint();
        if (op != null && !op.thresholds().isEmpty()) {
            this.thresholds = op.thresholds().stream().mapToDouble(Double::doubleValue).toArray();
            this.thresholdSource = "stored in the model (" + op.rule() + (op.data() == null ? "" : " on " + op.data())
                    + ")";
        } else if (c.isMultiLabel()) {
            this.thresholds = filled(labels.size(), 0.5);
            this.thresholdSource = "default 0.5 per finding";
        } else {
            this.thresholds = null;
            this.thresholdSource = "arg-max (no stored operating point)";
        }
        checkThresholds(thresholds);
    }

    private ResNeXtClassifier(ResNeXtClassifier base, Scorer scorer, double[] thresholds, String thresholdSource) {
        this.graph = base.graph;
        this.normalizer = base.normalizer;
        this.metadata = base.metadata;
        this.shape = base.shape;
        this.labels = base.labels;
        this.lock = base.lock; // one network, one lock
        this.scorer = scorer;
        this.thresholds = thresholds;
        this.thresholdSource = thresholdSource;
        this.channelMean = base.channelMean;
        this.channelStd = base.channelStd;
        this.hostInput = base.hostInput;
        this.inputs = base.inputs;
        checkThresholds(thresholds);
    }

    private void checkThresholds(double[] t) {
        if (t == null) {
            return;
        }
        boolean multiLabel = metadata.config().isMultiLabel();
        if (!multiLabel && labels.size() != 2) {
            throw new ResNeXtException("a decision threshold needs a binary or multi-label model; this model has "
                    + labels.size() + " classes (arg-max)");
        }
        int want = multiLabel ? labels.size() : 1;
        if (t.length != want) {
            throw new ResNeXtException((multiLabel ? "this model has " + want + " findings: give one threshold or "
                    + want : "a binary model takes one threshold") + ", got " + t.length);
        }
        for (double v : t) {
            if (!(v > 0 && v < 1)) {
                throw new ResNeXtException("a decision threshold must be between 0 and 1, was " + v);
            }
        }
    }

    private static double[] filled(int n, double v) {
        double[] t = new double[n];
        Arrays.fill(t, v);
        return t;
    }

    /**
     * The same model deciding at other thresholds: one for a binary model (class 1), one per finding or
     * one for all findings of a multi-label model.
     */
    public ResNeXtClassifier withThresholds(double... t) {
        double[] given = metadata.config().isMultiLabel() && t.length == 1 ? filled(labels.size(), t[0]) : t.clone();
        return new ResNeXtClassifier(this, scorer, given, "given by the caller");
    }

    /** The same model averaging the probabilities of test-time views. */
    public ResNeXtClassifier withTta(TestTimeAugmentation tta) {
        return new ResNeXtClassifier(this, new Scorer(graph, scorer.temperatures(), scorer.multiLabel(), tta),
                thresholds, thresholdSource);
    }

    /** The thresholds in use (a copy), or null when a single-label model decides by arg-max. */
    public double[] thresholds() {
        return thresholds == null ? null : thresholds.clone();
    }

    /** Where the thresholds in use come from (stored operating point, caller, default). */
    public String thresholdSource() {
        return thresholdSource;
    }

    /** Whether the probabilities are temperature-scaled by the model's stored calibration. */
    public boolean calibrated() {
        return scorer.temperatures() != null;
    }

    /**
     * How this classifier turns probabilities into labels, as a JSON-ready map (what {@code predict}
     * and {@code serve} report): the rule, the thresholds when there are any, where they come from,
     * and whether the probabilities are calibrated.
     */
    public java.util.Map<String, Object> describeDecision() {
        java.util.Map<String, Object> d = new java.util.LinkedHashMap<>();
        d.put("rule", thresholds == null ? "arg-max"
                : metadata().config().isMultiLabel() ? "finding present when its probability > its threshold"
                : "class " + labels().get(1) + " when its probability > threshold");
        if (thresholds != null) {
            d.put("thresholds", thresholds.clone());
        }
        d.put("source", thresholdSource);
        d.put("calibrated", calibrated());
        return d;
    }

    /** Loads and verifies a model zip (initialising ND4J's backend if needed). */
    public static ResNeXtClassifier load(Path modelZip) {
        Backends.current();
        return new ResNeXtClassifier(ModelZip.load(modelZip));
    }

    /**
     * Loads a model zip whose inference runs at {@code precision} (bf16: bfloat16 weights and
     * activations where the CPU has AVX512_BF16 or AMX; see docs/performance.md for its accuracy).
     *
     * @throws ResNeXtException for bf16 on a CPU without native support
     */
    public static ResNeXtClassifier load(Path modelZip, InferencePlan.Precision precision) {
        Backends.current();
        LoadedModel model = ModelZip.load(modelZip);
        GraphRuntime.prepare(model.graph(), GraphRuntime.Mode.INFERENCE, precision);
        return new ResNeXtClassifier(model);
    }

    /**
     * Mean and standard deviation per channel of a {@link org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize}
     * over channels, else null.
     */
    private static float[][] channelStatistics(DataNormalization normalizer, int channels) {
        if (!(normalizer instanceof org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize n)
                || n.getMean() == null || n.getStd() == null || n.getMean().length() != channels
                || n.getStd().length() != channels) {
            return null;
        }
        return new float[][] {n.getMean().castTo(DataType.FLOAT).toFloatVector(),
                n.getStd().castTo(DataType.FLOAT).toFloatVector()};
    }

    /** Wraps an already loaded model. */
    public static ResNeXtClassifier of(LoadedModel model) {
        return new ResNeXtClassifier(model);
    }

    /** Class names, index = output unit. */
    public List<String> labels() {
        return labels;
    }

    /** The input shape images are converted to. */
    public InputShape inputShape() {
        return shape;
    }

    /** The model's metadata (configuration, provenance, training summary). */
    public ModelMetadata metadata() {
        return metadata;
    }

    /** Classifies an image file. */
    public Prediction classify(Path image) {
        return classifyPrepared(List.of(prepare(ImageDecoder.read(image)))).get(0);
    }

    /** Classifies an AWT image. */
    public Prediction classify(BufferedImage image) {
        return classifyPrepared(List.of(prepare(ImageDecoder.fromBufferedImage(image)))).get(0);
    }

    /**
     * Classifies images given as an array: {@code [C,H,W]} or {@code [N,C,H,W]} with values in [0, 1]
     * and the model's input shape (no resizing is done here); the zip's normaliser is applied.
     */
    public List<Prediction> classify(INDArray images) {
        INDArray x = images.rank() == 3 ? images.reshape(1, images.size(0), images.size(1), images.size(2)) : images;
        long[] want = {x.size(0), shape.channels(), shape.height(), shape.width()};
        if (x.rank() != 4 || !Arrays.equals(x.shape(), want)) {
            throw new ResNeXtException("input of shape " + Arrays.toString(images.shape())
                    + " does not fit the model, which takes [N, " + shape.channels() + ", " + shape.height() + ", "
                    + shape.width() + "]");
        }
        return run(x.castTo(DataType.FLOAT).dup());
    }

    /** Classifies several files in one batch. */
    public List<Prediction> classifyFiles(List<Path> images) {
        List<float[]> prepared = new ArrayList<>();
        for (Path p : images) {
            prepared.add(prepare(ImageDecoder.read(p)));
        }
        return classifyPrepared(prepared);
    }

    /** Converts a decoded image to the model's input layout (planar, resized). */
    public float[] prepare(DecodedImage image) {
        return ImageOps.toInput(image, shape);
    }

    /** Classifies images already converted by {@link #prepare}. */
    public List<Prediction> classifyPrepared(List<float[]> prepared) {
        int c = shape.channels();
        int hw = shape.height() * shape.width();
        long[] dims = {prepared.size(), c, shape.height(), shape.width()};
        for (float[] img : prepared) {
            if (img.length != c * hw) {
                throw new IllegalArgumentException("a prepared image has " + img.length + " values, the model takes "
                        + c + "x" + shape.height() + "x" + shape.width() + " = " + c * hw + " (use prepare())");
            }
        }
        if (!hostInput) {
            float[] all = new float[prepared.size() * c * hw];
            for (int i = 0; i < prepared.size(); i++) {
                System.arraycopy(prepared.get(i), 0, all, i * c * hw, c * hw);
            }
            return run(Nd4j.create(all, dims, 'c'));
        }
        // On the CPU the images are written into an input array kept per batch size (a fresh
        // off-heap array of a batch costs page faults on every call, as much as 5% of a ResNeXt-50
        // forward pass), standardised on the way when the normaliser is per channel: one pass
        // instead of a copy, a copy and two broadcast operations, with NormalizerStandardize's float
        // operations. Under the lock, as the array is shared.
        double[][] out;
        lock.lock();
        try {
            INDArray x = inputs.computeIfAbsent(prepared.size(), n -> Nd4j.createUninitialized(DataType.FLOAT, dims, 'c'));
            java.nio.FloatBuffer dst = x.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
            float[] row = new float[hw];
            for (float[] img : prepared) {
                if (channelMean == null) {
                    dst.put(img);
                    continue;
                }
                for (int k = 0; k < c; k++) {
                    float m = channelMean[k];
                    float sd = channelStd[k];
                    for (int j = 0; j < hw; j++) {
                        row[j] = (img[k * hw + j] - m) / sd;
                    }
                    dst.put(row);
                }
            }
            if (channelMean == null && normalizer != null) {
                normalizer.transform(x);
            }
            out = scorer.probabilities(x);
        } finally {
            lock.unlock();
        }
        return predictions(out);
    }

    private List<Prediction> run(INDArray x) {
        if (normalizer != null) {
            normalizer.transform(x);
        }
        return score(x);
    }

    private List<Prediction> score(INDArray x) {
        double[][] out;
        lock.lock();
        try {
            out = scorer.probabilities(x);
        } finally {
            lock.unlock();
        }
        return predictions(out);
    }

    private List<Prediction> predictions(double[][] out) {
        List<Prediction> result = new ArrayList<>();
        for (double[] row : out) {
            result.add(metadata.config().isMultiLabel() ? Prediction.findings(row, labels, thresholds)
                    : thresholds != null ? Prediction.binary(row, labels, thresholds[0]) : Prediction.of(row, labels));
        }
        return result;
    }
}
