package dev.resnext.eval;

import dev.resnext.format.ModelMetadata;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Chooses the operating point stored in a model zip: the threshold of a binary model's class 1, or
 * one threshold per finding of a multi-label model, each by Youden's J or for a target sensitivity,
 * on validation probabilities (calibrated ones when the model is calibrated).
 */
public final class OperatingPoints {
    private OperatingPoints() {
    }

    /** Rule name as stored: {@code youden} or {@code sensitivity:S}. */
    public static String rule(Double targetSensitivity) {
        return targetSensitivity == null ? "youden" : "sensitivity:" + targetSensitivity;
    }

    /** Binary model: threshold on class 1 chosen on N x 2 validation probabilities. */
    public static ModelMetadata.OperatingPoint binary(double[][] probabilities, int[] labels, Double targetSensitivity,
                                                      String data, boolean calibrated) {
        Thresholds.OperatingPoint p = targetSensitivity == null ? Thresholds.youden(probabilities, labels)
                : Thresholds.forSensitivity(probabilities, labels, targetSensitivity);
        return new ModelMetadata.OperatingPoint(rule(targetSensitivity), List.of(p.threshold()), data,
                labels.length, List.of(p.sensitivity()), List.of(p.specificity()), calibrated, Instant.now().toString());
    }

    /** Multi-label model: one threshold per finding, each chosen on that finding's validation column. */
    public static ModelMetadata.OperatingPoint perFinding(double[][] probabilities, int[][] targets,
                                                          Double targetSensitivity, String data, boolean calibrated) {
        int l = probabilities[0].length;
        List<Double> t = new ArrayList<>();
        List<Double> sens = new ArrayList<>();
        List<Double> spec = new ArrayList<>();
        for (int k = 0; k < l; k++) {
            RocCurve roc = RocCurve.forLabel(probabilities, targets, k);
            Thresholds.OperatingPoint p = targetSensitivity == null ? Thresholds.youden(roc)
                    : Thresholds.forSensitivity(roc, targetSensitivity);
            t.add(p.threshold());
            sens.add(p.sensitivity());
            spec.add(p.specificity());
        }
        return new ModelMetadata.OperatingPoint(rule(targetSensitivity), t, data, probabilities.length, sens, spec,
                calibrated, Instant.now().toString());
    }

    /** A fixed threshold (binary) or fixed thresholds (multi-label), with their rates on the given data. */
    public static ModelMetadata.OperatingPoint fixed(double[] thresholds, double[][] probabilities, int[] labels,
                                                     String data, boolean calibrated) {
        double[] s = new double[probabilities.length];
        boolean[] pos = new boolean[labels.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = probabilities[i][1];
            pos[i] = labels[i] == 1;
        }
        Thresholds.OperatingPoint p = Thresholds.evaluate(s, pos, thresholds[0]);
        List<Double> sens = new ArrayList<>();
        sens.add(Double.isNaN(p.sensitivity()) ? null : p.sensitivity());
        List<Double> spec = new ArrayList<>();
        spec.add(Double.isNaN(p.specificity()) ? null : p.specificity());
        return new ModelMetadata.OperatingPoint("fixed", List.of(thresholds[0]), data, labels.length, sens, spec,
                calibrated, Instant.now().toString());
    }
}
