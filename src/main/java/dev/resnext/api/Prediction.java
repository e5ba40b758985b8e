package dev.resnext.api;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The classification of one image: the most probable class and the full probability vector.
 *
 * @param label         name of the predicted class
 * @param index         index of the predicted class
 * @param probability   its probability
 * @param labels        all class names, index = output unit
 * @param probabilities probability of every class
 */
public record Prediction(String label, int index, double probability, List<String> labels, double[] probabilities) {

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
