package dev.resnext.explain;

import dev.resnext.ResNeXtException;
import dev.resnext.format.LoadedModel;
import dev.resnext.runtime.GraphOutputs;
import dev.resnext.model.InputShape;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.VertexNames;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Grad-CAM (Selvaraju et al., 2017) class-activation maps of a ResNeXt on its last stage.
 *
 * <p><b>Why no back-propagation is needed.</b> Grad-CAM weights every channel {@code c} of a
 * convolutional activation {@code A} (here the last stage's output, {@code stageS.blockB.out}, after
 * its ReLU) by the spatial mean of the gradient of the class score {@code y_k} (the pre-softmax logit)
 * and keeps the positive part of the weighted sum:
 * <pre>
 *   alpha_c = 1/(h w) sum_ij d y_k / d A[c,i,j]        map = ReLU( sum_c alpha_c A_c )
 * </pre>
 * In these networks the head is global average pooling, then {@code head.fc} (a dense layer with
 * identity activation, weights {@code W [C, K]}, bias {@code b [1, K]}), then the softmax or sigmoid of
 * {@code head.loss}. So the logit is linear in {@code A}:
 * <pre>
 *   y_k = b_k + sum_c W[c,k] * 1/(h w) sum_ij A[c,i,j]   =>   d y_k / d A[c,i,j] = W[c,k] / (h w)
 * </pre>
 * for every position, and {@code alpha_c = W[c,k] / (h w)} exactly. Grad-CAM on this head is therefore
 * computed in closed form from one forward pass and the classifier's weights; it coincides with CAM
 * (Zhou et al., 2016) up to the positive factor {@code 1/(h w)}, which the normalisation removes.
 * The constructor checks that the network really has this head, and refuses another one.
 *
 * <p>The map is normalised to [0, 1] by dividing by its maximum (so 0 keeps meaning "no positive
 * evidence" and relative strengths are kept); a map without any positive value is all zeros.
 *
 * <p>Images are prepared exactly as for classification ({@link dev.resnext.data.ImageOps#toInput} to the
 * model's input shape, then the model's normaliser). Instances can be shared between threads; the
 * network runs one image at a time.
 */
public final class GradCam {
    private final ComputationGraph graph;
    private final DataNormalization normalizer;
    private final InputShape shape;
    private final String layer;
    private final Object lock = new Object();

    /**
     * The map, and the class it explains.
     *
     * @param map            {@code [h][w]} Grad-CAM map in [0, 1] at the last stage's resolution
     * @param classIndex     the explained class (output unit)
     * @param probability    the model's probability of that class for this image
     * @param predictedClass the class with the highest probability
     * @param probabilities  every class's probability (softmax, or sigmoid for multi-label models)
     * @param maxEvidence    the largest value of {@code sum_c alpha_c A_c} before normalisation (its
     *                       contribution to the logit per position); 0 when nothing speaks for the class
     */
    public record Result(float[][] map, int classIndex, double probability, int predictedClass,
                         double[] probabilities, double maxEvidence) {
        /** Rows of the map. */
        public int height() {
            return map.length;
        }

        /** Columns of the map. */
        public int width() {
            return map.length == 0 ? 0 : map[0].length;
        }
    }

    /**
     * @param graph      a ResNeXt graph built from {@code config} (head: average pooling, identity dense layer)
     * @param config     its configuration (input shape, stages)
     * @param normalizer the model's normaliser, applied to prepared images, or null
     * @throws ResNeXtException when the network's head is not average pooling of the last stage followed by
     *                          a dense layer with identity activation (Grad-CAM would then need autograd)
     */
    public GradCam(ComputationGraph graph, ResNeXtConfig config, DataNormalization normalizer) {
        this.graph = graph;
        this.normalizer = normalizer;
        this.shape = new InputShape(config.getInputHeight(), config.getInputWidth(), config.getInputChannels());
        this.layer = VertexNames.stageOutput(config, config.numStages());
        checkHead(graph, layer);
    }

    /** Grad-CAM for a loaded model zip (its graph, configuration and normaliser). */
    public static GradCam of(LoadedModel model) {
        return new GradCam(model.graph(), model.metadata().config(), model.normalizer());
    }

    /** The vertex whose activations are explained ({@code stageS.blockB.out} of the last stage). */
    public String layer() {
        return layer;
    }

    /** The input shape prepared images must have. */
    public InputShape inputShape() {
        return shape;
    }

    /**
     * Grad-CAM of one prepared image.
     *
     * @param prepared   planar {@code [C][H][W]} pixels in [0, 1] at the model's input shape (from
     *                   {@link dev.resnext.data.ImageOps#toInput}), not yet normalised; not modified
     * @param classIndex the class to explain, or a negative number for the predicted class
     */
    public Result explain(float[] prepared, int classIndex) {
        int len = shape.channels() * shape.height() * shape.width();
        if (prepared.length != len) {
            throw new ResNeXtException("prepared image has " + prepared.length + " values, the model takes "
                    + shape.channels() + "x" + shape.height() + "x" + shape.width() + " = " + len);
        }
        INDArray x = Nd4j.create(prepared.clone(), new long[] {1, shape.channels(), shape.height(), shape.width()},
                'c');
        if (normalizer != null) {
            normalizer.transform(x);
        }
        INDArray activation;
        double[] probabilities;
        INDArray weights;
        synchronized (lock) {
            Map<String, INDArray> out = GraphOutputs.activations(graph, x, List.of(layer, VertexNames.HEAD_LOSS), 1);
            activation = out.get(layer).castTo(DataType.DOUBLE).dup('c');
            probabilities = out.get(VertexNames.HEAD_LOSS).castTo(DataType.DOUBLE).reshape(-1).toDoubleVector();
            weights = graph.getLayer(VertexNames.HEAD_FC).getParam("W").castTo(DataType.DOUBLE).dup('c');
        }
        int predicted = argMax(probabilities);
        int k = classIndex < 0 ? predicted : classIndex;
        if (k >= probabilities.length) {
            throw new ResNeXtException("class index " + k + " is out of range: the model has " + probabilities.length
                    + " classes (0.." + (probabilities.length - 1) + ")");
        }
        double[][] evidence = weightedSum(activation, weights, k);
        double max = 0;
        for (double[] row : evidence) {
            for (double v : row) {
                max = Math.max(max, v);
            }
        }
        return new Result(normalise(evidence), k, probabilities[k], predicted, probabilities, max);
    }

    /**
     * The Grad-CAM map of class {@code k} from last-stage activations and the classifier's weights:
     * {@code ReLU(sum_c alpha_c A_c)} with {@code alpha_c = W[c,k] / (h w)}, divided by its maximum.
     *
     * @param activations {@code [1, C, h, w]} or {@code [C, h, w]}
     * @param fcWeights   {@code head.fc}'s weights {@code [C, K]}
     */
    public static float[][] map(INDArray activations, INDArray fcWeights, int k) {
        return normalise(weightedSum(activations, fcWeights, k));
    }

    /** Grad-CAM's channel weights {@code alpha_c = d y_k / d A[c,i,j] = W[c,k] / (h w)} (the same at every i, j). */
    public static double[] channelWeights(INDArray fcWeights, int k, int h, int w) {
        if (fcWeights.rank() != 2 || k < 0 || k >= fcWeights.size(1)) {
            throw new ResNeXtException("class " + k + " does not fit classifier weights of shape "
                    + Arrays.toString(fcWeights.shape()));
        }
        double[] column = fcWeights.getColumn(k).castTo(DataType.DOUBLE).dup().reshape(-1).toDoubleVector();
        double area = (double) h * w;
        for (int c = 0; c < column.length; c++) {
            column[c] /= area;
        }
        return column;
    }

    /** {@code sum_c alpha_c A_c} before the ReLU, {@code [h][w]}. */
    static double[][] weightedSum(INDArray activations, INDArray fcWeights, int k) {
        INDArray a = activations.rank() == 4 && activations.size(0) == 1
                ? activations.reshape(activations.size(1), activations.size(2), activations.size(3)) : activations;
        if (a.rank() != 3) {
            throw new ResNeXtException("Grad-CAM needs activations [C, h, w] of one image, got shape "
                    + Arrays.toString(activations.shape()));
        }
        int c = (int) a.size(0);
        int h = (int) a.size(1);
        int w = (int) a.size(2);
        if (fcWeights.rank() != 2 || fcWeights.size(0) != c) {
            throw new ResNeXtException("classifier weights of shape " + Arrays.toString(fcWeights.shape())
                    + " do not match " + c + " activation channels");
        }
        double[] alpha = channelWeights(fcWeights, k, h, w);
        double[] data = a.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[][] sum = new double[h][w];
        for (int ch = 0; ch < c; ch++) {
            double wc = alpha[ch];
            if (wc == 0) {
                continue;
            }
            int base = ch * h * w;
            for (int i = 0; i < h; i++) {
                double[] row = sum[i];
                for (int j = 0; j < w; j++) {
                    row[j] += wc * data[base + i * w + j];
                }
            }
        }
        return sum;
    }

    /** {@code ReLU(m) / max(ReLU(m))}; all zeros when no value is positive. */
    static float[][] normalise(double[][] m) {
        double max = 0;
        for (double[] row : m) {
            for (double v : row) {
                if (v > max) {
                    max = v;
                }
            }
        }
        float[][] out = new float[m.length][];
        for (int i = 0; i < m.length; i++) {
            out[i] = new float[m[i].length];
            if (max > 0 && Double.isFinite(max)) {
                for (int j = 0; j < m[i].length; j++) {
                    out[i][j] = (float) (Math.max(0, m[i][j]) / max);
                }
            }
        }
        return out;
    }

    private static int argMax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** The layer configuration inside a frozen wrapper (fine-tuned models freeze up to head.pool). */
    private static org.deeplearning4j.nn.conf.layers.Layer unfrozen(org.deeplearning4j.nn.conf.layers.Layer l) {
        if (l instanceof org.deeplearning4j.nn.conf.layers.misc.FrozenLayer f) return f.getLayer();
        if (l instanceof org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop f) return f.getUnderlying();
        return l;
    }

    /** Checks that {@code head.pool} averages {@code layer} and {@code head.fc} is an identity dense layer. */
    private static void checkHead(ComputationGraph graph, String layer) {
        ComputationGraphConfiguration conf = graph.getConfiguration();
        String problem = null;
        GraphVertex pool = conf.getVertices().get(VertexNames.HEAD_POOL);
        GraphVertex fc = conf.getVertices().get(VertexNames.HEAD_FC);
        if (graph.getVertex(layer) == null) {
            problem = "it has no vertex " + layer;
        } else if (!(pool instanceof LayerVertex pv)
                || !(unfrozen(pv.getLayerConf().getLayer()) instanceof GlobalPoolingLayer gp)
                || gp.getPoolingType() != PoolingType.AVG) {
            problem = VertexNames.HEAD_POOL + " is not a global average pooling layer";
        } else if (!List.of(layer).equals(conf.getVertexInputs().get(VertexNames.HEAD_POOL))) {
            problem = VertexNames.HEAD_POOL + " does not pool " + layer;
        } else if (!(fc instanceof LayerVertex fv) || !(unfrozen(fv.getLayerConf().getLayer()) instanceof DenseLayer dense)
                || !(dense.getActivationFn() instanceof ActivationIdentity)) {
            problem = VertexNames.HEAD_FC + " is not a dense layer with identity activation";
        } else if (!List.of(VertexNames.HEAD_POOL).equals(conf.getVertexInputs().get(VertexNames.HEAD_FC))) {
            problem = VertexNames.HEAD_FC + " does not take " + VertexNames.HEAD_POOL;
        } else if (conf.getVertices().get(VertexNames.HEAD_LOSS) == null) {
            problem = "it has no " + VertexNames.HEAD_LOSS;
        }
        if (problem != null) {
            throw new ResNeXtException("cannot compute Grad-CAM for this network: " + problem
                    + " (expected the ResNeXt head: average pooling of the last stage, then a linear classifier)");
        }
    }
}
