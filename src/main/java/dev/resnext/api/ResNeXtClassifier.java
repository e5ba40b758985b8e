package dev.resnext.api;

import dev.resnext.ResNeXtException;
import dev.resnext.backend.Backends;
import dev.resnext.data.DecodedImage;
import dev.resnext.data.ImageDecoder;
import dev.resnext.data.ImageOps;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.model.InputShape;
import dev.resnext.model.ResNeXtConfig;
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
 * <p>Images are prepared exactly as in training (bit-depth scaling, channel conversion, bilinear
 * resize, the zip's normaliser). Decoding and preparation run concurrently in the callers'
 * threads; the network itself runs one batch at a time, because a DL4J graph is not safe for
 * concurrent use.
 */
public final class ResNeXtClassifier {
    private final ComputationGraph graph;
    private final DataNormalization normalizer;
    private final ModelMetadata metadata;
    private final InputShape shape;
    private final List<String> labels;
    private final ReentrantLock lock = new ReentrantLock();

    private ResNeXtClassifier(LoadedModel model) {
        this.graph = model.graph();
        this.normalizer = model.normalizer();
        this.metadata = model.metadata();
        ResNeXtConfig c = metadata.config();
        this.shape = new InputShape(c.getInputHeight(), c.getInputWidth(), c.getInputChannels());
        this.labels = metadata.labels().isEmpty() ? ModelMetadata.indexLabels(c.getNumClasses()) : metadata.labels();
    }

    /** Loads and verifies a model zip (initialising ND4J's backend if needed). */
    public static ResNeXtClassifier load(Path modelZip) {
        Backends.current();
        return new ResNeXtClassifier(ModelZip.load(modelZip));
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
        int len = shape.channels() * shape.height() * shape.width();
        float[] all = new float[prepared.size() * len];
        for (int i = 0; i < prepared.size(); i++) {
            System.arraycopy(prepared.get(i), 0, all, i * len, len);
        }
        INDArray x = Nd4j.create(all, new long[] {prepared.size(), shape.channels(), shape.height(), shape.width()},
                'c');
        return run(x);
    }

    private List<Prediction> run(INDArray x) {
        if (normalizer != null) {
            normalizer.transform(x);
        }
        INDArray out;
        lock.lock();
        try {
            out = dev.resnext.runtime.GraphRuntime.output(graph, x).castTo(DataType.DOUBLE).dup();
        } finally {
            lock.unlock();
        }
        List<Prediction> result = new ArrayList<>();
        for (double[] row : out.toDoubleMatrix()) {
            result.add(Prediction.of(row, labels));
        }
        return result;
    }
}
