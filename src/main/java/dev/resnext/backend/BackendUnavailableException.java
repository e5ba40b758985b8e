package dev.resnext.backend;

/** The requested ND4J backend could not be loaded; {@link #requested()} names it (cpu, cuda). */
public class BackendUnavailableException extends RuntimeException {
    private final String requested;

    public BackendUnavailableException(String message) {
        this(null, message);
    }

    public BackendUnavailableException(String requested, String message) {
        super(requested == null ? message : "backend " + requested + ": " + message);
        this.requested = requested;
    }

    /** The backend that was asked for, or null when none was. */
    public String requested() {
        return requested;
    }
}
