package dev.resnext.bench;

import dev.resnext.model.ResNeXtConfig;

import java.util.Objects;

/**
 * One benchmark configuration, validated on construction.
 *
 * @param config     the network (preset or configuration, with any input override applied)
 * @param mode       inference or training step
 * @param batch      images per step (at least 1)
 * @param iters      timed steps wanted (at least 1)
 * @param warmup     untimed steps first (at least 0); the first step also sizes DL4J's workspaces
 * @param maxOther   a timed step during which other processes used more than this many cores on
 *                   average is discarded and repeated (negative: keep every step)
 * @param quietWait  seconds to wait, before the first step, for the machine to become quiet
 * @param budget     seconds the timed loop may take before it stops repeating disturbed steps
 *                   (and stops early once 3 steps are kept)
 * @param seed       seed of the random input and labels
 */
public record BenchmarkSpec(ResNeXtConfig config, BenchmarkMode mode, int batch, int iters, int warmup,
                            double maxOther, double quietWait, double budget, long seed) {

    /** Defaults equal to the PyTorch reference script's ({@code bench.py}): 5 timed steps, 2 warm-up. */
    public static final int DEFAULT_ITERS = 5;
    public static final int DEFAULT_WARMUP = 2;
    public static final double DEFAULT_MAX_OTHER = 0.15;
    public static final double DEFAULT_QUIET_WAIT = 300;
    public static final double DEFAULT_BUDGET = 170;

    public BenchmarkSpec {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(mode, "mode");
        if (batch < 1) {
            throw new IllegalArgumentException("--batch must be at least 1, was " + batch);
        }
        if (iters < 1) {
            throw new IllegalArgumentException("--iters must be at least 1, was " + iters);
        }
        if (warmup < 0) {
            throw new IllegalArgumentException("--warmup must be 0 or more, was " + warmup);
        }
        if (quietWait < 0) {
            throw new IllegalArgumentException("--quiet-wait must be 0 or more seconds, was " + quietWait);
        }
        if (!(budget > 0)) {
            throw new IllegalArgumentException("--budget must be positive, was " + budget);
        }
    }

    /** A specification with the reference script's defaults for everything but the essentials. */
    public static BenchmarkSpec of(ResNeXtConfig config, BenchmarkMode mode, int batch) {
        return new BenchmarkSpec(config, mode, batch, DEFAULT_ITERS, DEFAULT_WARMUP, DEFAULT_MAX_OTHER,
                DEFAULT_QUIET_WAIT, DEFAULT_BUDGET, 123);
    }
}
