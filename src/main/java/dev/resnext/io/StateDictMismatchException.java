package dev.resnext.io;

import dev.resnext.ResNeXtException;

/**
 * A PyTorch state dict that does not fit the network: a missing, unexpected, mis-shaped or
 * non-floating tensor. The message is one line naming the first offending key; {@link #key()}
 * returns that key, {@link #problems()} how many tensors are wrong in all.
 */
public class StateDictMismatchException extends ResNeXtException {
    private final String key;
    private final int problems;

    public StateDictMismatchException(String message, String key, int problems) {
        super(message);
        this.key = key;
        this.problems = problems;
    }

    /** The first offending state-dict key. */
    public String key() {
        return key;
    }

    /** Number of offending tensors found (at least 1). */
    public int problems() {
        return problems;
    }
}
