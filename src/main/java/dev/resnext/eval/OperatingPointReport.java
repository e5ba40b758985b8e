package dev.resnext.eval;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The decision threshold of a binary classifier and what it gives: sensitivity and specificity on the
 * validation data it was chosen on (when there is such data) and on the test data it is applied to.
 *
 * @param method          how the threshold was set: {@code youden}, {@code sensitivity:S} or {@code fixed}
 * @param positiveClass   name of class 1, the class called when its probability exceeds the threshold
 * @param threshold       the threshold (positive when probability {@code >} threshold)
 * @param validationData  name of the validation data, or null when none was scored
 * @param validation      sensitivity and specificity on the validation data, or null
 * @param validationN     number of validation images (0 when none)
 * @param test            sensitivity and specificity on the test data
 * @param testN           number of test images
 */
public record OperatingPointReport(String method, String positiveClass, double threshold, String validationData,
                                   Thresholds.OperatingPoint validation, int validationN,
                                   Thresholds.OperatingPoint test, int testN) {

    /** The test side of an operating point from metrics computed at {@code threshold} (binary only). */
    public static Thresholds.OperatingPoint testPoint(ClassificationMetrics metrics) {
        if (!metrics.isBinary()) {
            throw new IllegalArgumentException("an operating point needs a binary task");
        }
        ClassificationMetrics.ClassMetrics positive = metrics.perClass().get(1);
        return new Thresholds.OperatingPoint(metrics.threshold(), positive.recall(), positive.specificity());
    }

    /**
     * JSON-ready map: method, positiveClass, threshold, validation {data, n, sensitivity, specificity}
     * (null when no validation data was scored), test {n, sensitivity, specificity}; NaN as null.
     */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", method);
        m.put("positiveClass", positiveClass);
        m.put("threshold", threshold);
        if (validation == null) {
            m.put("validation", null);
        } else {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("data", validationData);
            v.put("n", validationN);
            v.put("sensitivity", Inputs.jsonNumber(validation.sensitivity()));
            v.put("specificity", Inputs.jsonNumber(validation.specificity()));
            m.put("validation", v);
        }
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("n", testN);
        t.put("sensitivity", Inputs.jsonNumber(test.sensitivity()));
        t.put("specificity", Inputs.jsonNumber(test.specificity()));
        m.put("test", t);
        return m;
    }

    /** A few aligned lines for the text report. */
    public String toText() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "operating point (%s%s): class %s when its probability > %s%n",
                method, validationData == null ? "" : ", chosen on " + validationData, positiveClass,
                threshold));
        TextTable table = new TextTable();
        if (validation != null) {
            table.row("", "validation", "test")
                    .row("sensitivity", TextTable.number(validation.sensitivity()), TextTable.number(test.sensitivity()))
                    .row("specificity", TextTable.number(validation.specificity()), TextTable.number(test.specificity()))
                    .row("images", Integer.toString(validationN), Integer.toString(testN));
        } else {
            table.row("", "test")
                    .row("sensitivity", TextTable.number(test.sensitivity()))
                    .row("specificity", TextTable.number(test.specificity()))
                    .row("images", Integer.toString(testN));
        }
        table.appendTo(out, "");
        return out.toString();
    }
}
