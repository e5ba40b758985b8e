package dev.resnext.bench;

/** What one benchmark step does. */
public enum BenchmarkMode {
    /** Forward pass in inference mode ({@code graph.output}). */
    INFER,
    /** One training step: forward, loss, backward and updater ({@code graph.fit(dataSet)}). */
    TRAIN
}
