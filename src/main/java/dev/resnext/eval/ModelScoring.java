package dev.resnext.eval;

import dev.resnext.data.Batches;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.util.List;

/** Runs a network over batches and collects its output probabilities with the true labels. */
public final class ModelScoring {
    private ModelScoring() {
    }

    /**
     * Probabilities and labels of a scored set.
     *
     * @param probabilities {@code [n][classes]} network outputs (softmax, or sigmoid for multi-label)
     * @param labels        true class per image
     * @param seconds       time spent in the network and data loading
     */
    public record Scores(double[][] probabilities, int[] labels, double seconds) {
        /** Classification metrics of these scores (MedMNIST definitions). */
        public ClassificationMetrics metrics(List<String> classNames) {
            return ClassificationMetrics.compute(probabilities, labels, classNames);
        }

        /** Images per second. */
        public double imagesPerSecond() {
            return labels.length / Math.max(1e-9, seconds);
        }
    }

    /** Scores every batch in inference mode (BN running statistics, no augmentation). */
    public static Scores predict(ComputationGraph graph, Batches batches) {
        long start = System.nanoTime();
        double[][] probs = new double[batches.size()][];
        int row = 0;
        for (DataSet ds : batches) {
            INDArray out = graph.output(false, ds.getFeatures())[0].castTo(DataType.DOUBLE);
            double[][] rows = out.toDoubleMatrix();
            for (double[] r : rows) {
                probs[row++] = r;
            }
        }
        return new Scores(probs, batches.labels(), (System.nanoTime() - start) / 1e9);
    }
}
