package dev.resnext.eval;

import dev.resnext.data.Batches;
import org.deeplearning4j.nn.graph.ComputationGraph;
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
     * @param labels        true class per image (single-label)
     * @param targets       true 0/1 findings per image (multi-label), or null
     * @param seconds       time spent in the network and data loading
     */
    public record Scores(double[][] probabilities, int[] labels, int[][] targets, double seconds) {
        /** Classification metrics of these scores (MedMNIST definitions). */
        public ClassificationMetrics metrics(List<String> classNames) {
            return ClassificationMetrics.compute(probabilities, labels, classNames);
        }

        /** Multi-label metrics (per-label AUC and their mean, as the MedMNIST evaluator). */
        public MultiLabelMetrics multiLabelMetrics(List<String> labelNames) {
            return MultiLabelMetrics.compute(probabilities, targets, labelNames);
        }

        /** Mean binary cross-entropy over all findings (multi-label validation loss). */
        public double binaryCrossEntropy() {
            double sum = 0;
            long n = 0;
            for (int i = 0; i < probabilities.length; i++) {
                for (int k = 0; k < probabilities[i].length; k++) {
                    double p = Math.min(1 - 1e-7, Math.max(1e-7, probabilities[i][k]));
                    sum -= targets[i][k] == 1 ? Math.log(p) : Math.log(1 - p);
                    n++;
                }
            }
            return sum / Math.max(1, n);
        }

        /** Images per second. */
        public double imagesPerSecond() {
            return labels.length / Math.max(1e-9, seconds);
        }
    }

    /** Scores every batch in inference mode (BN running statistics, no augmentation). */
    public static Scores predict(ComputationGraph graph, Batches batches) {
        return predict(new Scorer(graph, null, batches.multiLabel(), TestTimeAugmentation.NONE), batches);
    }

    /** Scores every batch through {@code scorer} (stored calibration and test-time views applied). */
    public static Scores predict(Scorer scorer, Batches batches) {
        long start = System.nanoTime();
        double[][] probs = new double[batches.size()][];
        int row = 0;
        for (DataSet ds : batches) {
            double[][] rows = scorer.probabilities(ds.getFeatures());
            for (double[] r : rows) {
                probs[row++] = r;
            }
        }
        return new Scores(probs, batches.labels(), batches.multiLabel() ? batches.targets() : null,
                (System.nanoTime() - start) / 1e9);
    }
}
