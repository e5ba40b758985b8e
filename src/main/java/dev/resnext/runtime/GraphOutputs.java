package dev.resnext.runtime;

import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.VertexNames;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Inference-mode activations of named vertices, computed in batches.
 *
 * <p>The logits are the output of {@link VertexNames#HEAD_FC} (identity activation), before the
 * softmax or sigmoid of {@link VertexNames#HEAD_LOSS}: what torchvision's {@code model(x)} returns.
 * Only the requested activations are kept ({@code ComputationGraph.output(List, ...)}), so that a
 * full-size network does not hold every intermediate array of a batch.
 */
public final class GraphOutputs {

    private GraphOutputs() {
    }

    /** Pre-softmax logits [N, classes] of an NCHW input, in inference mode. */
    public static INDArray logits(ComputationGraph graph, INDArray input, int batchSize) {
        return activations(graph, input, List.of(VertexNames.HEAD_FC), batchSize).get(VertexNames.HEAD_FC);
    }

    /**
     * Inference-mode activations of the given vertices for an NCHW input, computed {@code batchSize}
     * examples at a time and concatenated along the first axis.
     *
     * @throws IllegalArgumentException when a vertex does not exist
     */
    public static Map<String, INDArray> activations(ComputationGraph graph, INDArray input, List<String> requested,
                                                    int batchSize) {
        // DL4J fills only the first of repeated names
        List<String> vertices = new ArrayList<>(new java.util.LinkedHashSet<>(requested));
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be positive, was " + batchSize);
        }
        for (String v : vertices) {
            if (graph.getVertex(v) == null) {
                throw new IllegalArgumentException("the network has no vertex '" + v + "'");
            }
        }
        INDArray x = input.dataType() == graph.getConfiguration().getDataType()
                ? input : input.castTo(graph.getConfiguration().getDataType());
        long n = x.size(0);
        List<List<INDArray>> parts = new ArrayList<>();
        vertices.forEach(v -> parts.add(new ArrayList<>()));
        for (long start = 0; start < n; start += batchSize) {
            long end = Math.min(n, start + batchSize);
            INDArray batch = n <= batchSize ? x : slice(x, start, end);
            INDArray[] out = vertices.equals(List.of(VertexNames.HEAD_FC))
                    ? new INDArray[] {GraphRuntime.logits(graph, batch)}   // the compiled plan where there is one
                    : graph.output(vertices, false, new INDArray[] {batch}, null);
            for (int i = 0; i < out.length; i++) {
                parts.get(i).add(out[i]);
            }
        }
        Map<String, INDArray> result = new LinkedHashMap<>();
        for (int i = 0; i < vertices.size(); i++) {
            List<INDArray> p = parts.get(i);
            result.put(vertices.get(i), p.size() == 1 ? p.get(0) : Nd4j.concat(0, p.toArray(new INDArray[0])));
        }
        return result;
    }

    private static INDArray slice(INDArray x, long start, long end) {
        org.nd4j.linalg.indexing.INDArrayIndex[] idx = new org.nd4j.linalg.indexing.INDArrayIndex[x.rank()];
        idx[0] = NDArrayIndex.interval(start, end);
        for (int d = 1; d < idx.length; d++) {
            idx[d] = NDArrayIndex.all();
        }
        return x.get(idx).dup('c');
    }

    /**
     * Checks an input array shape against the network input [N, C, H, W].
     *
     * @return null when it fits, else a one-line description of the mismatch
     */
    public static String inputMismatch(ResNeXtConfig config, long[] shape) {
        String expected = "[N, " + config.getInputChannels() + ", " + config.getInputHeight() + ", "
                + config.getInputWidth() + "]";
        boolean ok = shape.length == 4 && shape[0] >= 1 && shape[1] == config.getInputChannels()
                && shape[2] == config.getInputHeight() && shape[3] == config.getInputWidth();
        if (ok) {
            return null;
        }
        String hint = "";
        if (shape.length == 4 && shape[3] == config.getInputChannels() && shape[1] == config.getInputHeight()
                && shape[2] == config.getInputWidth()) {
            hint = " (it looks like NHWC; transpose it to NCHW, e.g. x.transpose(0, 3, 1, 2))";
        } else if (shape.length == 3 && shape[0] == config.getInputChannels()) {
            hint = " (a single image needs a batch axis: x[None])";
        } else if (shape.length == 4 && shape[0] == 0) {
            hint = " (the batch is empty)";
        }
        return "shape " + Arrays.toString(shape) + " but the model expects " + expected + " (NCHW)" + hint;
    }
}
