package dev.resnext;

/**
 * An error caused by the user's input (a file, an option, a model zip) rather than by a bug.
 * Commands print its message as one line and exit non-zero, without a stack trace.
 */
public class ResNeXtException extends RuntimeException {
    public ResNeXtException(String message) {
        super(message);
    }

    public ResNeXtException(String message, Throwable cause) {
        super(message, cause);
    }
}
