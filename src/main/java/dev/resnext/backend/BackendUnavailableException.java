package dev.resnext.backend;

/** The requested ND4J backend could not be loaded. */
public class BackendUnavailableException extends RuntimeException {
    public BackendUnavailableException(String message) {
        super(message);
    }
}
