package dev.resnext.eval;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * How a model's probabilities are produced for every consumer: the network on each test-time view
 * of a prepared (normalised) batch, the stored temperature scaling applied per view, the views
 * averaged. Not thread-safe (a DL4J graph is not); callers that share a graph serialise calls.
 *
 * @param graph        the network, in inference mode
 * @param temperatures stored temperatures, or null for none
 * @param multiLabel   whether the outputs are sigmoid findings
 * @param tta          test-time views
 */
public record Scorer(ComputationGraph graph, double[] temperatures, boolean multiLabel, TestTimeAugmentation tta) {

    public Scorer {
        tta = tta == null ? TestTimeAugmentation.NONE : tta;
    }

    /** A copy with other temperatures (null: raw probabilities). */
    public Scorer withTemperatures(double[] t) {
        return new Scorer(graph, t, multiLabel, tta);
    }

    /** Probabilities of a prepared NCHW batch, {@code [n][outputs]}. */
    public double[][] probabilities(INDArray x) {
        double[][] sum = null;
        for (INDArray view : tta.views(x)) {
            // the compiled inference plan where the graph was prepared for inference
            double[][] p = dev.resnext.runtime.GraphRuntime.output(graph, view).castTo(DataType.DOUBLE).toDoubleMatrix();
            p = TemperatureScaling.apply(p, temperatures, multiLabel);
            if (sum == null) {
                sum = p;
                continue;
            }
            for (int i = 0; i < p.length; i++) {
                for (int k = 0; k < p[i].length; k++) {
                    sum[i][k] += p[i][k];
                }
            }
        }
        int views = tta.viewCount();
        if (views > 1) {
            for (double[] row : sum) {
                for (int k = 0; k < row.length; k++) {
                    row[k] /= views;
                }
            }
        }
        return sum;
    }
}
