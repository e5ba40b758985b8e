package dev.resnext.eval;

import dev.resnext.ResNeXtException;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Metrics of a multi-label classifier (each sample has any number of L binary labels, e.g.
 * ChestMNIST's 14 findings), as the MedMNIST evaluator defines them for the task
 * "multi-label, binary-class": AUC = mean over labels of the per-label AUC of column {@code j};
 * accuracy = mean over labels of the per-label accuracy of {@code score > threshold} (0.5 by default).
 * Immutable; build it with {@code compute(...)}.
 *
 * <p>A label with no positive or no negative sample has an undefined AUC: it is {@code NaN} and left
 * out of the mean (MedMNIST would fail). {@link #toMap()} writes {@code NaN} as {@code null}.
 */
public final class MultiLabelMetrics {

    /** Per-label decision threshold of MedMNIST's {@code getACC}. */
    public static final double DEFAULT_THRESHOLD = 0.5;

    /**
     * Metrics of one label.
     *
     * @param name        label name
     * @param auc         AUC of the label's score column; NaN when the label is always or never present
     * @param accuracy    share of samples where {@code score > threshold} matches the target
     * @param sensitivity recall of the label's positive samples; NaN when there is none
     * @param specificity recall of the label's negative samples; NaN when there is none
     * @param precision   TP / (TP + FP); NaN when the label is never predicted
     * @param f1          2 TP / (2 TP + FP + FN); NaN when the label is neither present nor predicted
     * @param positives   number of samples that have the label
     */
    public record LabelMetrics(String name, double auc, double accuracy, double sensitivity, double specificity,
                               double precision, double f1, int positives) {
        /** JSON-ready map, NaN written as null. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("auc", Inputs.jsonNumber(auc));
            m.put("accuracy", Inputs.jsonNumber(accuracy));
            m.put("sensitivity", Inputs.jsonNumber(sensitivity));
            m.put("specificity", Inputs.jsonNumber(specificity));
            m.put("precision", Inputs.jsonNumber(precision));
            m.put("f1", Inputs.jsonNumber(f1));
            m.put("positives", positives);
            return m;
        }
    }

    private final List<String> labelNames;
    private final int sampleCount;
    private final double threshold;
    private final double auc;
    private final double accuracy;
    private final double subsetAccuracy;
    private final List<LabelMetrics> perLabel;

    private MultiLabelMetrics(List<String> labelNames, int sampleCount, double threshold, double auc, double accuracy,
                              double subsetAccuracy, List<LabelMetrics> perLabel) {
        this.labelNames = labelNames;
        this.sampleCount = sampleCount;
        this.threshold = threshold;
        this.auc = auc;
        this.accuracy = accuracy;
        this.subsetAccuracy = subsetAccuracy;
        this.perLabel = perLabel;
    }

    /** Metrics at the MedMNIST threshold 0.5; {@code labelNames} may be null ("0".."L-1"). */
    public static MultiLabelMetrics compute(double[][] probabilities, int[][] targets, List<String> labelNames) {
        return compute(probabilities, targets, labelNames, DEFAULT_THRESHOLD);
    }

    /**
     * Metrics of N x L label probabilities (sigmoid outputs) against N x L targets of 0 or 1.
     *
     * @param threshold a label is predicted present when its probability is {@code >} this
     */
    public static MultiLabelMetrics compute(double[][] probabilities, int[][] targets, List<String> labelNames,
                                            double threshold) {
        int labels = Inputs.checkScoreMatrix(probabilities, "probabilities");
        List<String> names = Inputs.names(labelNames, labels, "label");
        Inputs.checkThreshold(threshold);
        int n = probabilities.length;
        if (targets == null || targets.length != n) {
            throw new ResNeXtException(n + " predictions but " + (targets == null ? 0 : targets.length)
                    + " target rows");
        }
        for (int i = 0; i < n; i++) {
            if (targets[i] == null || targets[i].length != labels) {
                throw new ResNeXtException("target row " + i + " has "
                        + (targets[i] == null ? 0 : targets[i].length) + " values, expected " + labels);
            }
            for (int j = 0; j < labels; j++) {
                if (targets[i][j] != 0 && targets[i][j] != 1) {
                    throw new ResNeXtException("target row " + i + " label " + j + " is " + targets[i][j]
                            + ", expected 0 or 1");
                }
            }
        }

        List<LabelMetrics> perLabel = new ArrayList<>(labels);
        double[] aucs = new double[labels];
        double[] accuracies = new double[labels];
        for (int j = 0; j < labels; j++) {
            aucs[j] = RocCurve.forLabel(probabilities, targets, j).auc();
            long truePositives = 0;
            long falsePositives = 0;
            long trueNegatives = 0;
            long falseNegatives = 0;
            for (int i = 0; i < n; i++) {
                boolean predicted = probabilities[i][j] > threshold;
                boolean actual = targets[i][j] == 1;
                if (predicted && actual) {
                    truePositives++;
                } else if (predicted) {
                    falsePositives++;
                } else if (actual) {
                    falseNegatives++;
                } else {
                    trueNegatives++;
                }
            }
            accuracies[j] = (double) (truePositives + trueNegatives) / n;
            perLabel.add(new LabelMetrics(names.get(j), aucs[j], accuracies[j],
                    Inputs.ratio(truePositives, truePositives + falseNegatives),
                    Inputs.ratio(trueNegatives, trueNegatives + falsePositives),
                    Inputs.ratio(truePositives, truePositives + falsePositives),
                    Inputs.ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives),
                    (int) (truePositives + falseNegatives)));
        }
        int exactMatches = 0;
        for (int i = 0; i < n; i++) {
            boolean all = true;
            for (int j = 0; j < labels && all; j++) {
                all = (probabilities[i][j] > threshold) == (targets[i][j] == 1);
            }
            if (all) {
                exactMatches++;
            }
        }
        // MedMNIST: mean of the per-label accuracies (every label defined) and of the per-label AUCs
        double meanAccuracy = 0;
        for (double a : accuracies) {
            meanAccuracy += a;
        }
        meanAccuracy /= labels;
        return new MultiLabelMetrics(names, n, threshold, Inputs.meanOfDefined(aucs), meanAccuracy,
                (double) exactMatches / n, List.copyOf(perLabel));
    }

    /** INDArray form: N x L probabilities and N x L targets of 0 or 1, threshold 0.5. */
    public static MultiLabelMetrics compute(INDArray probabilities, INDArray targets, List<String> labelNames) {
        double[][] matrix = Inputs.toMatrix(probabilities, "probabilities");
        double[][] targetMatrix = Inputs.toMatrix(targets, "targets");
        int[][] intTargets = new int[targetMatrix.length][];
        for (int i = 0; i < targetMatrix.length; i++) {
            intTargets[i] = new int[targetMatrix[i].length];
            for (int j = 0; j < targetMatrix[i].length; j++) {
                double v = targetMatrix[i][j];
                if (v != 0.0 && v != 1.0) {
                    throw new ResNeXtException("target row " + i + " label " + j + " is " + v + ", expected 0 or 1");
                }
                intTargets[i][j] = (int) v;
            }
        }
        return compute(matrix, intTargets, labelNames, DEFAULT_THRESHOLD);
    }

    public int n() {
        return sampleCount;
    }

    public List<String> labelNames() {
        return labelNames;
    }

    /** Per-label decision threshold used for the accuracies. */
    public double threshold() {
        return threshold;
    }

    /** Mean over labels of the per-label AUC (labels with an undefined AUC left out); MedMNIST's AUC. */
    public double auc() {
        return auc;
    }

    /** Mean over labels of the per-label accuracy; MedMNIST's ACC. */
    public double accuracy() {
        return accuracy;
    }

    /** Share of samples whose every label is decided right (exact match); stricter than {@link #accuracy()}. */
    public double subsetAccuracy() {
        return subsetAccuracy;
    }

    public List<LabelMetrics> perLabel() {
        return perLabel;
    }

    /**
     * JSON-ready ordered map: n, labels, task, threshold, auc, accuracy, subsetAccuracy, perLabel
     * (list of maps). Undefined values are null.
     */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n", sampleCount);
        m.put("labels", labelNames);
        m.put("task", "multi-label");
        m.put("threshold", threshold);
        m.put("auc", Inputs.jsonNumber(auc));
        m.put("accuracy", Inputs.jsonNumber(accuracy));
        m.put("subsetAccuracy", Inputs.jsonNumber(subsetAccuracy));
        List<Map<String, Object>> labels = new ArrayList<>(perLabel.size());
        for (LabelMetrics l : perLabel) {
            labels.add(l.toMap());
        }
        m.put("perLabel", labels);
        return m;
    }

    /** Multi-line report: summary and per-label table, aligned for a monospaced font. */
    public String toText() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%d samples, %d labels, label present when its probability > %s%n",
                sampleCount, labelNames.size(), threshold));
        new TextTable()
                .row("AUC (mean over labels)", TextTable.number(auc))
                .row("accuracy (mean over labels)", TextTable.number(accuracy))
                .row("subset accuracy (all labels right)", TextTable.number(subsetAccuracy))
                .appendTo(out, "");
        out.append('\n');
        TextTable table = new TextTable().row("label", "auc", "accuracy", "sensitivity", "specificity", "precision",
                "f1", "positives");
        for (LabelMetrics l : perLabel) {
            table.row(l.name(), TextTable.number(l.auc()), TextTable.number(l.accuracy()),
                    TextTable.number(l.sensitivity()), TextTable.number(l.specificity()),
                    TextTable.number(l.precision()), TextTable.number(l.f1()), Integer.toString(l.positives()));
        }
        table.appendTo(out, "");
        return out.toString();
    }

    @Override
    public String toString() {
        return "MultiLabelMetrics[n=" + sampleCount + ", labels=" + labelNames.size() + ", auc=" + auc
                + ", accuracy=" + accuracy + "]";
    }
}
