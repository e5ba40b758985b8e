package dev.resnext.serve;

/**
 * A request that cannot be answered, with the HTTP status that says why; its message becomes the
 * one-line JSON error the client sees.
 */
public final class HttpProblem extends RuntimeException {
    private final int status;

    public HttpProblem(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    /** The HTTP status code (4xx: the request; 5xx: the server). */
    public int status() {
        return status;
    }
}
