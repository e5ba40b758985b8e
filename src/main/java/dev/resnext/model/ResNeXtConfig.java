package dev.resnext.model;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonPOJOBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * Immutable, validated description of a ResNeXt network (architecture, input, head, optimizer).
 *
 * <p>Channel arithmetic follows torchvision: in stage {@code s} the bottleneck has
 * {@code planes[s]} "planes", its grouped 3x3 works on
 * {@code width = floor(planes * baseWidth / 64) * cardinality} channels, and the block outputs
 * {@code planes * expansion} channels. Stage 1 keeps the resolution, later stages halve it with a
 * stride on the 3x3 convolution ("ResNet v1.5").
 *
 * <p>Create one with {@link #builder()} or a preset from {@link Presets}; every setter is
 * checked in {@link Builder#build()}, and an invalid value is reported with its field name.
 * The JSON form ({@link #toJson()}, {@link #fromJson(String)}) is what {@code --config FILE}
 * reads and what model zips carry.
 */
@JsonDeserialize(builder = ResNeXtConfig.Builder.class)
@JsonIgnoreProperties(ignoreUnknown = false)
@JsonPropertyOrder({"name", "stem", "stemWidth", "stageDepths", "stagePlanes", "cardinality", "baseWidth",
        "expansion", "inputHeight", "inputWidth", "inputChannels", "numClasses", "multiLabel", "seed",
        "optimizer", "learningRate", "momentum", "weightDecay", "dataType", "bnEps", "bnMomentum",
        "zeroInitResidual"})
public final class ResNeXtConfig {

    /** Floating-point types the network can be built in. */
    public enum Precision { FLOAT, DOUBLE, HALF }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final String name;
    private final StemKind stem;
    private final int stemWidth;
    private final int[] stageDepths;
    private final int[] stagePlanes;
    private final int cardinality;
    private final int baseWidth;
    private final int expansion;
    private final int inputHeight;
    private final int inputWidth;
    private final int inputChannels;
    private final int numClasses;
    private final boolean multiLabel;
    private final long seed;
    private final OptimizerKind optimizer;
    private final double learningRate;
    private final double momentum;
    private final double weightDecay;
    private final Precision dataType;
    private final double bnEps;
    private final double bnMomentum;
    private final boolean zeroInitResidual;

    private ResNeXtConfig(Builder b) {
        this.name = b.name;
        this.stem = b.stem;
        this.stemWidth = b.stemWidth;
        this.stageDepths = b.stageDepths.clone();
        this.stagePlanes = b.stagePlanes.clone();
        this.cardinality = b.cardinality;
        this.baseWidth = b.baseWidth;
        this.expansion = b.expansion;
        this.inputHeight = b.inputHeight;
        this.inputWidth = b.inputWidth;
        this.inputChannels = b.inputChannels;
        this.numClasses = b.numClasses;
        this.multiLabel = b.multiLabel;
        this.seed = b.seed;
        this.optimizer = b.optimizer;
        this.learningRate = b.learningRate;
        this.momentum = b.momentum;
        this.weightDecay = b.weightDecay;
        this.dataType = b.dataType;
        this.bnEps = b.bnEps;
        this.bnMomentum = b.bnMomentum;
        this.zeroInitResidual = b.zeroInitResidual;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder pre-filled with this configuration, for deriving variants. */
    public Builder toBuilder() {
        return new Builder()
                .name(name).stem(stem).stemWidth(stemWidth).stageDepths(stageDepths).stagePlanes(stagePlanes)
                .cardinality(cardinality).baseWidth(baseWidth).expansion(expansion)
                .inputHeight(inputHeight).inputWidth(inputWidth).inputChannels(inputChannels)
                .numClasses(numClasses).multiLabel(multiLabel).seed(seed).optimizer(optimizer)
                .learningRate(learningRate).momentum(momentum).weightDecay(weightDecay).dataType(dataType)
                .bnEps(bnEps).bnMomentum(bnMomentum).zeroInitResidual(zeroInitResidual);
    }

    public String getName() { return name; }
    public StemKind getStem() { return stem; }
    public int getStemWidth() { return stemWidth; }
    public int[] getStageDepths() { return stageDepths.clone(); }
    public int[] getStagePlanes() { return stagePlanes.clone(); }
    public int getCardinality() { return cardinality; }
    public int getBaseWidth() { return baseWidth; }
    public int getExpansion() { return expansion; }
    public int getInputHeight() { return inputHeight; }
    public int getInputWidth() { return inputWidth; }
    public int getInputChannels() { return inputChannels; }
    public int getNumClasses() { return numClasses; }
    public boolean isMultiLabel() { return multiLabel; }
    public long getSeed() { return seed; }
    public OptimizerKind getOptimizer() { return optimizer; }
    public double getLearningRate() { return learningRate; }
    public double getMomentum() { return momentum; }
    public double getWeightDecay() { return weightDecay; }
    public Precision getDataType() { return dataType; }
    public double getBnEps() { return bnEps; }
    public double getBnMomentum() { return bnMomentum; }
    public boolean isZeroInitResidual() { return zeroInitResidual; }

    /** Number of stages. */
    @JsonIgnore
    public int numStages() { return stageDepths.length; }

    /** Channels of one cardinality group in stage {@code s} (0-based): floor(planes*baseWidth/64). */
    public int groupWidth(int s) { return (int) ((long) stagePlanes[s] * baseWidth / 64); }

    /** Channels of the grouped 3x3 convolution in stage {@code s}: groupWidth * cardinality. */
    public int bottleneckWidth(int s) { return groupWidth(s) * cardinality; }

    /** Output channels of every block in stage {@code s}: planes * expansion. */
    public int stageOutChannels(int s) { return stagePlanes[s] * expansion; }

    /** Stride of the first block of stage {@code s}: 1 for the first stage, 2 after. */
    public int stageStride(int s) { return s == 0 ? 1 : 2; }

    /** Input shape as "HxWxC". */
    @JsonIgnore
    public String inputSpec() { return inputHeight + "x" + inputWidth + "x" + inputChannels; }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Parses a configuration written by {@link #toJson()} (or by hand). Fields left out take the
     * builder's defaults; unknown fields and invalid values are rejected.
     */
    public static ResNeXtConfig fromJson(String json) {
        try {
            return JSON.readValue(json, ResNeXtConfig.class);
        } catch (com.fasterxml.jackson.databind.exc.ValueInstantiationException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IllegalArgumentException iae) {
                throw iae;
            }
            throw new IllegalArgumentException("invalid model configuration: " + e.getOriginalMessage(), e);
        } catch (com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException e) {
            throw new IllegalArgumentException("unknown field '" + e.getPropertyName()
                    + "' in model configuration", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("unreadable model configuration: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof ResNeXtConfig c)) return false;
        return stemWidth == c.stemWidth && cardinality == c.cardinality && baseWidth == c.baseWidth
                && expansion == c.expansion && inputHeight == c.inputHeight && inputWidth == c.inputWidth
                && inputChannels == c.inputChannels && numClasses == c.numClasses && multiLabel == c.multiLabel
                && seed == c.seed && Double.compare(learningRate, c.learningRate) == 0
                && Double.compare(momentum, c.momentum) == 0 && Double.compare(weightDecay, c.weightDecay) == 0
                && Double.compare(bnEps, c.bnEps) == 0 && Double.compare(bnMomentum, c.bnMomentum) == 0
                && zeroInitResidual == c.zeroInitResidual && name.equals(c.name) && stem == c.stem
                && Arrays.equals(stageDepths, c.stageDepths) && Arrays.equals(stagePlanes, c.stagePlanes)
                && optimizer == c.optimizer && dataType == c.dataType;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, stem, stemWidth, Arrays.hashCode(stageDepths), Arrays.hashCode(stagePlanes),
                cardinality, baseWidth, inputHeight, inputWidth, inputChannels, numClasses, seed);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s[%s stem %d, depths %s, planes %s, %dx%dd, input %s, %d classes]",
                name, stem.name().toLowerCase(Locale.ROOT), stemWidth, Arrays.toString(stageDepths),
                Arrays.toString(stagePlanes), cardinality, baseWidth, inputSpec(), numClasses);
    }

    /** Validating builder; defaults are those of torchvision's resnext50_32x4d. */
    @JsonPOJOBuilder(withPrefix = "")
    @JsonIgnoreProperties(ignoreUnknown = false)
    public static final class Builder {
        private String name = "custom";
        private StemKind stem = StemKind.IMAGENET;
        private int stemWidth = 64;
        private int[] stageDepths = {3, 4, 6, 3};
        private int[] stagePlanes = {64, 128, 256, 512};
        private int cardinality = 32;
        private int baseWidth = 4;
        private int expansion = 4;
        private int inputHeight = 224;
        private int inputWidth = 224;
        private int inputChannels = 3;
        private int numClasses = 1000;
        private boolean multiLabel = false;
        private long seed = 42;
        private OptimizerKind optimizer = OptimizerKind.NESTEROV;
        private double learningRate = 0.1;
        private double momentum = 0.9;
        private double weightDecay = 5e-4;
        private Precision dataType = Precision.FLOAT;
        private double bnEps = 1e-5;
        private double bnMomentum = 0.1;
        private boolean zeroInitResidual = false;

        private Builder() {
        }

        public Builder name(String v) { this.name = v; return this; }
        public Builder stem(StemKind v) { this.stem = v; return this; }
        public Builder stemWidth(int v) { this.stemWidth = v; return this; }
        public Builder stageDepths(int... v) { this.stageDepths = v == null ? null : v.clone(); return this; }
        public Builder stagePlanes(int... v) { this.stagePlanes = v == null ? null : v.clone(); return this; }
        public Builder cardinality(int v) { this.cardinality = v; return this; }
        public Builder baseWidth(int v) { this.baseWidth = v; return this; }
        public Builder expansion(int v) { this.expansion = v; return this; }
        public Builder inputHeight(int v) { this.inputHeight = v; return this; }
        public Builder inputWidth(int v) { this.inputWidth = v; return this; }
        public Builder inputChannels(int v) { this.inputChannels = v; return this; }
        public Builder numClasses(int v) { this.numClasses = v; return this; }
        public Builder multiLabel(boolean v) { this.multiLabel = v; return this; }
        public Builder seed(long v) { this.seed = v; return this; }
        public Builder optimizer(OptimizerKind v) { this.optimizer = v; return this; }
        public Builder learningRate(double v) { this.learningRate = v; return this; }
        public Builder momentum(double v) { this.momentum = v; return this; }
        public Builder weightDecay(double v) { this.weightDecay = v; return this; }
        public Builder dataType(Precision v) { this.dataType = v; return this; }
        public Builder bnEps(double v) { this.bnEps = v; return this; }
        public Builder bnMomentum(double v) { this.bnMomentum = v; return this; }
        public Builder zeroInitResidual(boolean v) { this.zeroInitResidual = v; return this; }

        /** Sets height, width and channels at once. */
        public Builder input(int height, int width, int channels) {
            return inputHeight(height).inputWidth(width).inputChannels(channels);
        }

        /** Checks every field and returns the immutable configuration. */
        public ResNeXtConfig build() {
            require(name != null && !name.isBlank(), "name", "must not be empty");
            require(stem != null, "stem", "must be IMAGENET or CIFAR");
            positive("stemWidth", stemWidth);
            require(stageDepths != null && stageDepths.length > 0, "stageDepths", "must list at least one stage");
            require(stagePlanes != null, "stagePlanes", "must list the planes of every stage");
            require(stagePlanes.length == stageDepths.length, "stagePlanes",
                    "has " + stagePlanes.length + " entries but stageDepths has " + stageDepths.length);
            for (int s = 0; s < stageDepths.length; s++) {
                require(stageDepths[s] >= 1, "stageDepths", "stage " + (s + 1) + " has " + stageDepths[s]
                        + " blocks; every stage needs at least 1");
                require(stagePlanes[s] >= 1, "stagePlanes", "stage " + (s + 1) + " has " + stagePlanes[s]
                        + " planes; must be positive");
            }
            positive("cardinality", cardinality);
            positive("baseWidth", baseWidth);
            positive("expansion", expansion);
            for (int s = 0; s < stagePlanes.length; s++) {
                long gw = (long) stagePlanes[s] * baseWidth / 64;
                require(gw >= 1, "baseWidth", "gives an empty group in stage " + (s + 1)
                        + " (floor(planes " + stagePlanes[s] + " * baseWidth " + baseWidth + " / 64) = 0)");
            }
            require(inputHeight >= 1 && inputHeight <= 8192, "inputHeight", "must be in 1..8192, was " + inputHeight);
            require(inputWidth >= 1 && inputWidth <= 8192, "inputWidth", "must be in 1..8192, was " + inputWidth);
            require(inputChannels >= 1 && inputChannels <= 4096, "inputChannels",
                    "must be in 1..4096, was " + inputChannels);
            positive("numClasses", numClasses);
            require(multiLabel || numClasses >= 2, "numClasses",
                    "must be at least 2 for a single-label classifier, was " + numClasses);
            require(optimizer != null, "optimizer", "must be one of SGD, NESTEROV, ADAM, ADAMW");
            require(learningRate > 0 && Double.isFinite(learningRate), "learningRate",
                    "must be positive, was " + learningRate);
            require(momentum >= 0 && momentum < 1, "momentum", "must be in [0, 1), was " + momentum);
            require(weightDecay >= 0 && Double.isFinite(weightDecay), "weightDecay",
                    "must be zero or positive, was " + weightDecay);
            require(dataType != null, "dataType", "must be FLOAT, DOUBLE or HALF");
            require(bnEps > 0, "bnEps", "must be positive, was " + bnEps);
            require(bnMomentum > 0 && bnMomentum <= 1, "bnMomentum", "must be in (0, 1], was " + bnMomentum);
            return new ResNeXtConfig(this);
        }

        private static void positive(String field, int value) {
            require(value >= 1, field, "must be positive, was " + value);
        }

        private static void require(boolean ok, String field, String message) {
            if (!ok) {
                throw new InvalidConfigException(field, message);
            }
        }
    }
}
