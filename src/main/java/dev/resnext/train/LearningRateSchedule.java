package dev.resnext.train;

import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Locale;

/**
 * Learning rate per iteration: optional linear warm-up, then constant, step decay or cosine decay.
 * Stored in the network configuration (class name in model zips), so resumed runs continue the
 * same curve from the saved iteration count.
 */
public final class LearningRateSchedule implements ISchedule {

    /** Shape after the warm-up. */
    public enum Kind { CONSTANT, STEP, COSINE }

    private final Kind kind;
    private final double baseLr;
    private final int warmupIterations;
    private final int totalIterations;
    private final int stepIterations;
    private final double gamma;

    /**
     * @param kind             constant, step or cosine
     * @param baseLr           peak learning rate
     * @param warmupIterations iterations of linear warm-up from baseLr/warmup to baseLr (0: none)
     * @param totalIterations  iterations of the whole run (cosine reaches 0 there)
     * @param stepIterations   step decay period (STEP)
     * @param gamma            step decay factor (STEP)
     */
    public LearningRateSchedule(@JsonProperty("kind") Kind kind, @JsonProperty("baseLr") double baseLr,
                                @JsonProperty("warmupIterations") int warmupIterations,
                                @JsonProperty("totalIterations") int totalIterations,
                                @JsonProperty("stepIterations") int stepIterations,
                                @JsonProperty("gamma") double gamma) {
        this.kind = kind;
        this.baseLr = baseLr;
        this.warmupIterations = Math.max(0, warmupIterations);
        this.totalIterations = Math.max(1, totalIterations);
        this.stepIterations = Math.max(1, stepIterations);
        this.gamma = gamma;
    }

    /** Parses "constant", "step", "cosine". */
    public static Kind parseKind(String s) {
        try {
            return Kind.valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown learning-rate schedule '" + s + "'; use constant, step or cosine");
        }
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        if (iteration < warmupIterations) {
            return baseLr * (iteration + 1) / warmupIterations;
        }
        int t = iteration - warmupIterations;
        int span = Math.max(1, totalIterations - warmupIterations);
        return switch (kind) {
            case CONSTANT -> baseLr;
            case STEP -> baseLr * Math.pow(gamma, Math.floor((double) t / stepIterations));
            case COSINE -> 0.5 * baseLr * (1 + Math.cos(Math.PI * Math.min(1.0, (double) t / span)));
        };
    }

    @Override
    public ISchedule clone() {
        return new LearningRateSchedule(kind, baseLr, warmupIterations, totalIterations, stepIterations, gamma);
    }

    public Kind getKind() { return kind; }
    public double getBaseLr() { return baseLr; }
    public int getWarmupIterations() { return warmupIterations; }
    public int getTotalIterations() { return totalIterations; }
    public int getStepIterations() { return stepIterations; }
    public double getGamma() { return gamma; }

    @Override
    public boolean equals(Object o) {
        return o instanceof LearningRateSchedule s && s.kind == kind && s.baseLr == baseLr
                && s.warmupIterations == warmupIterations && s.totalIterations == totalIterations
                && s.stepIterations == stepIterations && s.gamma == gamma;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(kind, baseLr, warmupIterations, totalIterations, stepIterations, gamma);
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(Locale.ROOT) + "(lr " + baseLr + ", warm-up " + warmupIterations + " it)";
    }
}
