package dev.resnext.format;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.resnext.Versions;
import dev.resnext.model.ResNeXtConfig;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a model zip carries beside DL4J's own entries, so that the zip alone is enough to reuse the
 * model: the full configuration, class labels, how images must be prepared, where the model came
 * from, a training summary and the software versions.
 *
 * @param format        file format tag, {@value #FORMAT} (or {@value #FORMAT_1} as read from an older zip)
 * @param config        the network configuration (input shape, classes, architecture)
 * @param labels        class names, index = output unit
 * @param preprocessing how raw images become network input (pixel scale, resize, channels, normaliser)
 * @param provenance    where the weights came from (training data, import source, parent model)
 * @param training      training summary (epochs, best metric, seeds...), empty when untrained
 * @param versions      software versions that wrote the zip
 * @param createdAt     ISO-8601 time of writing
 * @param calibration   temperature scaling fitted on validation data and applied by every consumer, or null
 * @param operatingPoint the decision threshold(s) that travel with the model and how they were chosen, or null
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record ModelMetadata(String format, ResNeXtConfig config, List<String> labels,
                            Map<String, Object> preprocessing, Map<String, Object> provenance,
                            Map<String, Object> training, Map<String, String> versions, String createdAt,
                            Calibration calibration, OperatingPoint operatingPoint) {

    /** The format written: configuration.json names only DL4J's own classes. */
    public static final String FORMAT = "resnext-model/2";
    /** The first format, read and upgraded on load: configuration.json named this project's layer classes. */
    public static final String FORMAT_1 = "resnext-model/1";

    /** The metadata of zips written before calibration and operating points existed. */
    public ModelMetadata(String format, ResNeXtConfig config, List<String> labels, Map<String, Object> preprocessing,
                         Map<String, Object> provenance, Map<String, Object> training, Map<String, String> versions,
                         String createdAt) {
        this(format, config, labels, preprocessing, provenance, training, versions, createdAt, null, null);
    }

    /**
     * Temperature scaling: the network's probabilities {@code p} become {@code softmax(log(p) / T)}
     * (single-label, one T) or {@code sigmoid(logit(p) / T_k)} per finding (multi-label).
     *
     * @param method       {@code temperature}
     * @param temperatures one temperature (single-label) or one per finding (multi-label), each &gt; 0
     * @param data         the validation data it was fitted on
     * @param n            number of validation images
     * @param nllBefore    validation negative log-likelihood before scaling
     * @param nllAfter     validation negative log-likelihood after scaling
     * @param eceBefore    validation expected calibration error (15 bins) before scaling
     * @param eceAfter     validation expected calibration error (15 bins) after scaling
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Calibration(String method, List<Double> temperatures, String data, int n, Double nllBefore,
                              Double nllAfter, Double eceBefore, Double eceAfter) {
        public Calibration {
            temperatures = temperatures == null ? List.of() : List.copyOf(temperatures);
        }
    }

    /**
     * The decision rule stored with the model: a sample is called positive for class 1 (binary) or
     * finding k (multi-label) when its (calibrated) probability is {@code >} the threshold.
     *
     * @param rule          how the thresholds were set: {@code youden}, {@code sensitivity:S} or {@code fixed}
     * @param thresholds    one threshold (binary: class 1) or one per finding (multi-label)
     * @param data          the validation data they were chosen on (null for a fixed threshold)
     * @param n             number of images of that data
     * @param sensitivity   sensitivity on that data at each threshold
     * @param specificity   specificity on that data at each threshold
     * @param calibrated    whether the thresholds apply to calibrated probabilities
     * @param chosenAt      ISO-8601 time of the choice
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record OperatingPoint(String rule, List<Double> thresholds, String data, int n, List<Double> sensitivity,
                                 List<Double> specificity, boolean calibrated, String chosenAt) {
        public OperatingPoint {
            thresholds = thresholds == null ? List.of() : List.copyOf(thresholds);
            sensitivity = sensitivity == null ? List.of() : new java.util.ArrayList<>(sensitivity);
            specificity = specificity == null ? List.of() : new java.util.ArrayList<>(specificity);
        }
    }

    public ModelMetadata {
        labels = labels == null ? List.of() : List.copyOf(labels);
        preprocessing = preprocessing == null ? Map.of() : new LinkedHashMap<>(preprocessing);
        provenance = provenance == null ? Map.of() : new LinkedHashMap<>(provenance);
        training = training == null ? Map.of() : new LinkedHashMap<>(training);
        versions = versions == null ? Versions.all() : new LinkedHashMap<>(versions);
    }

    /** New metadata stamped with the current versions and time. */
    public static ModelMetadata create(ResNeXtConfig config, List<String> labels, Map<String, Object> preprocessing,
                                       Map<String, Object> provenance, Map<String, Object> training) {
        return new ModelMetadata(FORMAT, config, labels, preprocessing, provenance, training, Versions.all(),
                Instant.now().toString());
    }

    /**
     * How the training jobs turn an image file into network input, as recorded in a zip's
     * "preprocessing" (a new mutable map, for callers to extend).
     */
    public static Map<String, Object> imagePreprocessing(ResNeXtConfig config) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("pixelScale", "sample / (2^bitDepth - 1)");
        p.put("resize", "bilinear, half-pixel centres");
        p.put("channels", config.getInputChannels() == 1 ? "grayscale (RGB -> BT.601 luma)"
                : "RGB (grayscale repeated)");
        p.put("normalization", "per-channel standardization fitted on the training set (normalizer.bin)");
        return p;
    }

    /** Default labels "0".."n-1" for a configuration without named classes. */
    public static List<String> indexLabels(int n) {
        return java.util.stream.IntStream.range(0, n).mapToObj(Integer::toString).toList();
    }

    /** A copy stamped with another format tag. */
    public ModelMetadata withFormat(String f) {
        return new ModelMetadata(f, config, labels, preprocessing, provenance, training, versions, createdAt,
                calibration, operatingPoint);
    }

    /** A copy with another training summary. */
    public ModelMetadata withTraining(Map<String, Object> t) {
        return new ModelMetadata(format, config, labels, preprocessing, provenance, t, Versions.all(),
                Instant.now().toString(), calibration, operatingPoint);
    }

    /**
     * A copy with another calibration and operating point (either may be null to remove it); the
     * training summary and provenance are kept.
     */
    public ModelMetadata withDecision(Calibration c, OperatingPoint op) {
        return new ModelMetadata(format, config, labels, preprocessing, provenance, training, Versions.all(),
                Instant.now().toString(), c, op);
    }

    /** The stored temperatures, or null when the model is not calibrated. */
    public double[] temperatures() {
        if (calibration == null || calibration.temperatures().isEmpty()) {
            return null;
        }
        return calibration.temperatures().stream().mapToDouble(Double::doubleValue).toArray();
    }
}
