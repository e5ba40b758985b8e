package dev.resnext.api;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The classification of one image: the decided class (or, multi-label, the findings present) and the
 * full probability vector (calibrated when the model carries a calibration).
 *
 * <p>Single-label: the class above the model's operating point (binary) or the most probable class.
 * Multi-label: {@code findings} lists every finding above its threshold, most probable first;
 * {@code label} joins their names with ";" (empty when none is present), and {@code index} and
 * {@code probability} are those of the first finding (-1 and the highest finding probability when
 * none is present).
 *
 * @param label         name of the predicted class, or the findings present joined by ";"
 * @param index         index of the predicted class (multi-label: of the most probable finding present, or -1)
 * @param probability   its probability
 * @param labels        all class names, index = output unit
 * @param probabilities probability of every class
 * @param threshold     the binary threshold applied to class 1's probability, NaN when the decision was the arg-max
 *                      or per finding
 * @param findings      multi-label: the findings present with their probabilities; empty for single-label models
 */
public record Prediction(String label, int index, double probability, List<String> labels, double[] probabilities,
                         double threshold, List<Scored> findings) {

    /** An arg-max prediction without findings (the form before operating points). */
    public Prediction(String label, int index, double probability, List<String> labels, double[] probabilities) {
        this(label, index, probability, labels, probabilities, Double.NaN, List.of());
    }

    /** Binary decision: class 1 when its probability is {@code >} {@code threshold}. */
    public static Prediction binary(double[] probabilities, List<String> labels, double threshold) {
        int k = probabilities[1] > threshold ? 1 : 0;
        return new Prediction(labels.get(k), k, probabilities[k], labels, probabilities.clone(), threshold,
                List.of());
    }

    /** Multi-label decision: every finding whose probability is {@code >} its threshold. */
    public static Prediction findings(double[] probabilities, List<String> labels, double[] thresholds) {
        List<Scored> present = new ArrayList<>();
        int best = 0;
        for (int k = 0; k < probabilities.length; k++) {
            if (probabilities[k] > thresholds[k]) {
                present.add(new Scored(labels.get(k), k, probabilities[k]));
            }
            if (probabilities[k] > probabilities[best]) best = k;
        }
        present.sort(Comparator.comparingDouble(Scored::probability).reversed());
        String label = String.join(";", present.stream().map(Scored::label).toList());
        return present.isEmpty()
                ? new Prediction("", -1, probabilities[best], labels, probabilities.clone(), Double.NaN, List.of())
                : new Prediction(label, present.get(0).index(), present.get(0).probability(), labels,
                probabilities.clone(), Double.NaN, List.copyOf(present));
    }

    /** One class and its probability. */
    public record Scored(String label, int index, double probability) {
    }

    /** Builds a prediction from a probability vector (argmax; the first class wins a tie). */
    public static Prediction of(double[] probabilities, List<String> labels) {
        int best = 0;
        for (int i = 1; i < probabilities.length; i++) {
            if (probabilities[i] > probabilities[best]) best = i;
        }
        return new Prediction(labels.get(best), best, probabilities[best], labels, probabilities.clone());
    }

    /** The {@code k} most probable classes, most probable first. */
    public List<Scored> top(int k) {
        List<Scored> all = new ArrayList<>();
        for (int i = 0; i < probabilities.length; i++) {
            all.add(new Scored(labels.get(i), i, probabilities[i]));
        }
        all.sort(Comparator.comparingDouble(Scored::probability).reversed());
        return all.subList(0, Math.min(k, all.size()));
    }
}
