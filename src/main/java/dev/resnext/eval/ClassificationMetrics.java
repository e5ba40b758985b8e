package dev.resnext.eval;

import dev.resnext.ResNeXtException;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Metrics of a single-label classifier (binary or multi-class) on one data set: accuracy, balanced
 * accuracy, ROC AUC as the MedMNIST evaluator defines it, per-class precision / recall / specificity /
 * F1 / one-vs-rest AUC, the confusion matrix and the log loss. Immutable; build it with
 * {@code compute(...)}.
 *
 * <p>Decisions: with two classes a sample is called class 1 when its class-1 probability is
 * {@code >} the threshold (default 0.5, MedMNIST's {@code getACC}); with more classes the arg-max
 * class is taken (first one on ties, like numpy).
 *
 * <p>AUC (MedMNIST {@code getAUC}): two classes: the AUC of the class-1 score; more classes: the mean
 * over classes of the one-vs-rest AUC of column {@code i}. A class with no sample (or, one-vs-rest,
 * with every sample) has an undefined AUC: it is {@code NaN} and left out of the mean, where MedMNIST
 * would fail. Other undefined ratios (precision of a class never predicted, recall of an absent class)
 * are {@code NaN} too, and balanced accuracy averages the recall of the classes present, like
 * scikit-learn. {@link #toMap()} writes {@code NaN} as {@code null}.
 */
public final class ClassificationMetrics {

    /** Default decision threshold on the class-1 probability of a binary task. */
    public static final double DEFAULT_THRESHOLD = 0.5;

    /** Probabilities are clipped to [eps, 1 - eps] in the log loss, like scikit-learn, so that it stays finite. */
    private static final double LOG_LOSS_EPSILON = 1e-15;

    /** Rows summing to 1 within this are taken as probabilities (float32 softmax output is not exact). */
    private static final double PROBABILITY_SUM_TOLERANCE = 1e-3;

    /**
     * Metrics of one class, computed one-vs-rest from the confusion matrix.
     *
     * @param name        class name
     * @param precision   TP / (TP + FP); NaN when the class is never predicted
     * @param recall      TP / (TP + FN), the sensitivity; NaN when the class is absent
     * @param specificity TN / (TN + FP); NaN when every sample belongs to the class
     * @param f1          2 TP / (2 TP + FP + FN); NaN when the class is neither present nor predicted
     * @param support     number of samples whose true label is the class
     * @param auc         one-vs-rest AUC of the class's probability column; NaN when undefined
     */
    public record ClassMetrics(String name, double precision, double recall, double specificity, double f1,
                               int support, double auc) {
        /** JSON-ready map, NaN written as null. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("precision", Inputs.jsonNumber(precision));
            m.put("recall", Inputs.jsonNumber(recall));
            m.put("specificity", Inputs.jsonNumber(specificity));
            m.put("f1", Inputs.jsonNumber(f1));
            m.put("support", support);
            m.put("auc", Inputs.jsonNumber(auc));
            return m;
        }
    }

    private final List<String> classNames;
    private final int sampleCount;
    private final double threshold;
    private final double accuracy;
    private final double balancedAccuracy;
    private final double auc;
    private final double logLoss;
    private final int[][] confusionMatrix;
    private final List<ClassMetrics> perClass;
    private final int[] predictedLabels;

    private ClassificationMetrics(List<String> classNames, int sampleCount, double threshold, double accuracy,
                                  double balancedAccuracy, double auc, double logLoss, int[][] confusionMatrix,
                                  List<ClassMetrics> perClass, int[] predictedLabels) {
        this.classNames = classNames;
        this.sampleCount = sampleCount;
        this.threshold = threshold;
        this.accuracy = accuracy;
        this.balancedAccuracy = balancedAccuracy;
        this.auc = auc;
        this.logLoss = logLoss;
        this.confusionMatrix = confusionMatrix;
        this.perClass = perClass;
        this.predictedLabels = predictedLabels;
    }

    /** Metrics with the default binary threshold 0.5; {@code classNames} may be null ("0".."K-1"). */
    public static ClassificationMetrics compute(double[][] probabilities, int[] labels, List<String> classNames) {
        return compute(probabilities, labels, classNames, DEFAULT_THRESHOLD);
    }

    /**
     * Metrics of N x K class probabilities (or any scores where higher means more likely; the log loss
     * is then NaN) against true class indices.
     *
     * @param probabilities   N x K, K >= 2; row i = sample i
     * @param labels          N true class indices in 0..K-1
     * @param classNames      K names, or null for "0".."K-1"
     * @param binaryThreshold for K == 2, class 1 is predicted when its probability is {@code >} this;
     *                        ignored for K > 2
     */
    public static ClassificationMetrics compute(double[][] probabilities, int[] labels, List<String> classNames,
                                                double binaryThreshold) {
        int k = Inputs.checkScoreMatrix(probabilities, "probabilities");
        if (k < 2) {
            throw new ResNeXtException("single-label metrics need at least 2 probability columns, got " + k);
        }
        List<String> names = Inputs.names(classNames, k, "class");
        int n = probabilities.length;
        if (labels == null || labels.length != n) {
            throw new ResNeXtException(n + " predictions but " + (labels == null ? 0 : labels.length) + " labels");
        }
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= k) {
                throw new ResNeXtException("label " + i + " is " + labels[i] + ", outside the classes 0.." + (k - 1));
            }
        }
        boolean binary = k == 2;
        if (binary) {
            Inputs.checkThreshold(binaryThreshold);
        }

        int[] predicted = new int[n];
        int[][] confusion = new int[k][k];
        int correct = 0;
        for (int i = 0; i < n; i++) {
            predicted[i] = binary ? (probabilities[i][1] > binaryThreshold ? 1 : 0) : Inputs.argMax(probabilities[i]);
            confusion[labels[i]][predicted[i]]++;
            if (predicted[i] == labels[i]) {
                correct++;
            }
        }

        double[] classAuc = new double[k];
        double[] recalls = new double[k];
        List<ClassMetrics> perClass = new ArrayList<>(k);
        for (int c = 0; c < k; c++) {
            classAuc[c] = RocCurve.oneVsRest(probabilities, labels, c).auc();
            long truePositives = confusion[c][c];
            long support = 0;
            long predictedAsClass = 0;
            for (int j = 0; j < k; j++) {
                support += confusion[c][j];
                predictedAsClass += confusion[j][c];
            }
            long falseNegatives = support - truePositives;
            long falsePositives = predictedAsClass - truePositives;
            long trueNegatives = n - truePositives - falseNegatives - falsePositives;
            recalls[c] = Inputs.ratio(truePositives, support);
            perClass.add(new ClassMetrics(names.get(c),
                    Inputs.ratio(truePositives, predictedAsClass),
                    recalls[c],
                    Inputs.ratio(trueNegatives, trueNegatives + falsePositives),
                    Inputs.ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives),
                    (int) support,
                    classAuc[c]));
        }
        // MedMNIST getAUC: binary = AUC of the class-1 column; multi-class = mean one-vs-rest AUC
        double headlineAuc = binary ? classAuc[1] : Inputs.meanOfDefined(classAuc);

        return new ClassificationMetrics(names, n, binary ? binaryThreshold : Double.NaN, (double) correct / n,
                Inputs.meanOfDefined(recalls), headlineAuc, logLoss(probabilities, labels), confusion,
                List.copyOf(perClass), predicted);
    }

    /** {@link #compute(double[][], int[], List)} for an N x K INDArray of probabilities. */
    public static ClassificationMetrics compute(INDArray probabilities, int[] labels, List<String> classNames) {
        return compute(Inputs.toMatrix(probabilities, "probabilities"), labels, classNames, DEFAULT_THRESHOLD);
    }

    /**
     * INDArray form; {@code labels} is either a vector (or N x 1 column) of class indices or an N x K
     * one-hot matrix as in a DL4J {@code DataSet}.
     */
    public static ClassificationMetrics compute(INDArray probabilities, INDArray labels, List<String> classNames,
                                                double binaryThreshold) {
        double[][] matrix = Inputs.toMatrix(probabilities, "probabilities");
        return compute(matrix, Inputs.toClassIndices(labels, matrix[0].length), classNames, binaryThreshold);
    }

    /** INDArray form with the default binary threshold. */
    public static ClassificationMetrics compute(INDArray probabilities, INDArray labels, List<String> classNames) {
        return compute(probabilities, labels, classNames, DEFAULT_THRESHOLD);
    }

    /**
     * Mean cross-entropy {@code -ln p(true class)}; NaN when the rows are not probability distributions
     * (entries outside [0, 1] or rows not summing to 1), e.g. raw logits.
     */
    private static double logLoss(double[][] probabilities, int[] labels) {
        double sum = 0;
        for (int i = 0; i < probabilities.length; i++) {
            double rowSum = 0;
            for (double p : probabilities[i]) {
                if (p < 0 || p > 1) {
                    return Double.NaN;
                }
                rowSum += p;
            }
            if (Math.abs(rowSum - 1.0) > PROBABILITY_SUM_TOLERANCE) {
                return Double.NaN;
            }
            double p = Math.min(Math.max(probabilities[i][labels[i]], LOG_LOSS_EPSILON), 1.0 - LOG_LOSS_EPSILON);
            sum -= Math.log(p);
        }
        return sum / probabilities.length;
    }

    /** Number of samples. */
    public int n() {
        return sampleCount;
    }

    public int numClasses() {
        return classNames.size();
    }

    public List<String> classNames() {
        return classNames;
    }

    /** Whether this is a two-class task (threshold decision, AUC of class 1). */
    public boolean isBinary() {
        return classNames.size() == 2;
    }

    /** Decision threshold on the class-1 probability for a binary task; NaN for multi-class (arg-max). */
    public double threshold() {
        return threshold;
    }

    /** Share of samples whose predicted class is the true class. */
    public double accuracy() {
        return accuracy;
    }

    /** Mean recall over the classes present in the labels. */
    public double balancedAccuracy() {
        return balancedAccuracy;
    }

    /** ROC AUC as MedMNIST defines it (binary: class 1; multi-class: macro one-vs-rest); NaN when undefined. */
    public double auc() {
        return auc;
    }

    /** Mean cross-entropy of the true class; NaN when the inputs were not probabilities. */
    public double logLoss() {
        return logLoss;
    }

    /** Confusion matrix, rows = true class, columns = predicted class; a copy. */
    public int[][] confusionMatrix() {
        int[][] copy = new int[confusionMatrix.length][];
        for (int i = 0; i < copy.length; i++) {
            copy[i] = confusionMatrix[i].clone();
        }
        return copy;
    }

    /** Per-class metrics in class-index order. */
    public List<ClassMetrics> perClass() {
        return perClass;
    }

    /** Predicted class of each sample (threshold or arg-max decision); a copy. */
    public int[] predictedLabels() {
        return predictedLabels.clone();
    }

    /**
     * JSON-ready ordered map: n, labels, task, decision, threshold (binary only), accuracy,
     * balancedAccuracy, auc, logLoss, perClass (list of maps), confusionMatrix (int[][], rows = true).
     * Undefined values are null.
     */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n", sampleCount);
        m.put("labels", classNames);
        m.put("task", isBinary() ? "binary" : "multi-class");
        m.put("decision", isBinary() ? "class-1 probability > threshold" : "argmax");
        if (isBinary()) {
            m.put("threshold", threshold);
        }
        m.put("accuracy", Inputs.jsonNumber(accuracy));
        m.put("balancedAccuracy", Inputs.jsonNumber(balancedAccuracy));
        m.put("auc", Inputs.jsonNumber(auc));
        m.put("logLoss", Inputs.jsonNumber(logLoss));
        List<Map<String, Object>> classes = new ArrayList<>(perClass.size());
        for (ClassMetrics c : perClass) {
            classes.add(c.toMap());
        }
        m.put("perClass", classes);
        m.put("confusionMatrix", confusionMatrix());
        return m;
    }

    /** Multi-line report: summary, per-class table and confusion matrix, aligned for a monospaced font. */
    public String toText() {
        StringBuilder out = new StringBuilder();
        out.append(isBinary()
                ? String.format(java.util.Locale.ROOT, "%d samples, 2 classes, class %s when its probability > %s%n",
                        sampleCount, classNames.get(1), threshold)
                : String.format(java.util.Locale.ROOT, "%d samples, %d classes, arg-max decision%n",
                        sampleCount, classNames.size()));
        new TextTable()
                .row("accuracy", TextTable.number(accuracy))
                .row("balanced accuracy", TextTable.number(balancedAccuracy))
                .row(isBinary() ? "AUC (class " + classNames.get(1) + ")" : "AUC (mean one-vs-rest)",
                        TextTable.number(auc))
                .row("log loss", TextTable.number(logLoss))
                .appendTo(out, "");
        out.append('\n');
        TextTable classes = new TextTable().row("class", "precision", "recall", "specificity", "f1", "support", "auc");
        for (ClassMetrics c : perClass) {
            classes.row(c.name(), TextTable.number(c.precision()), TextTable.number(c.recall()),
                    TextTable.number(c.specificity()), TextTable.number(c.f1()), Integer.toString(c.support()),
                    TextTable.number(c.auc()));
        }
        classes.appendTo(out, "");
        out.append('\n').append("confusion matrix (rows = true class, columns = predicted class)\n");
        out.append(confusionText(confusionMatrix, classNames));
        return out.toString();
    }

    /** Confusion matrix as an aligned table; columns are headed by class index to stay narrow. */
    static String confusionText(int[][] confusion, List<String> names) {
        StringBuilder out = new StringBuilder();
        String[] header = new String[names.size() + 1];
        header[0] = "true \\ predicted";
        for (int j = 0; j < names.size(); j++) {
            header[j + 1] = "[" + j + "]";
        }
        TextTable table = new TextTable().row(header);
        for (int i = 0; i < names.size(); i++) {
            String[] row = new String[names.size() + 1];
            row[0] = "[" + i + "] " + names.get(i);
            for (int j = 0; j < names.size(); j++) {
                row[j + 1] = Integer.toString(confusion[i][j]);
            }
            table.row(row);
        }
        table.appendTo(out, "");
        return out.toString();
    }

    @Override
    public String toString() {
        return "ClassificationMetrics[n=" + sampleCount + ", classes=" + classNames.size() + ", accuracy=" + accuracy
                + ", auc=" + auc + "]";
    }
}
