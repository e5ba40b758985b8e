package dev.resnext.cli;

import dev.resnext.runtime.inference.InferencePlan;
import picocli.CommandLine.Option;

/** The {@code --precision} option of the commands that run inference (predict, evaluate, serve, benchmark). */
public final class PrecisionOption {
    @Option(names = "--precision", paramLabel = "fp32|bf16", defaultValue = "fp32",
            description = "Number format of inference (default: ${DEFAULT-VALUE}); bf16 needs a CPU with AVX512_BF16 or "
                    + "AMX (see docs/performance.md for its speed and accuracy).")
    String precision = "fp32";

    /** The chosen number format; a value that is none is a usage error naming the option. */
    public InferencePlan.Precision value() {
        try {
            return InferencePlan.Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--precision: " + e.getMessage());
        }
    }
}
