/**
 * Evaluation of image classifiers: metrics, ROC curves, decision thresholds and PNG charts.
 *
 * <p>The headline numbers follow the MedMNIST v2 evaluator ({@code medmnist/evaluator.py},
 * functions {@code getAUC} and {@code getACC}) so that results can be compared with the published
 * MedMNIST benchmarks:
 * <ul>
 *   <li>binary task (two classes): AUC of the class-1 score, accuracy of {@code score1 > threshold};</li>
 *   <li>multi-class task: mean over classes of the one-vs-rest AUC of column {@code i}, accuracy of the
 *       arg-max;</li>
 *   <li>multi-label task: mean over labels of the per-label AUC, mean over labels of the per-label
 *       accuracy of {@code score > 0.5}.</li>
 * </ul>
 * One deliberate difference: where MedMNIST (through scikit-learn) fails on a class that has no
 * positive or no negative sample, this package reports that class's AUC as {@code NaN} and leaves it
 * out of the mean, so that a small or filtered test set still gets a report.
 *
 * <p>Everything here is pure Java over {@code double[][]} (ND4J {@code INDArray} inputs are converted
 * once); nothing needs a GPU or a display.
 */
package dev.resnext.eval;
