package dev.resnext.backend;

import java.util.Locale;

/** Which ND4J backend a command asks for. */
public enum BackendChoice {
    /** CUDA when it can be loaded, the CPU otherwise. */
    AUTO,
    /** The CPU backend (nd4j-native). */
    CPU,
    /** The CUDA backend (nd4j-cuda); an error where it cannot be loaded. */
    CUDA;

    /** Environment variable that selects the backend (the {@code --backend} option wins). */
    public static final String ENV = "RESNEXT_BACKEND";

    /** Parses {@code auto|cpu|cuda}, case-insensitively. */
    public static BackendChoice parse(String s) {
        if (s == null || s.isBlank()) {
            return AUTO;
        }
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown backend '" + s + "'; use auto, cpu or cuda");
        }
    }

    /** The choice named by {@value #ENV}, or AUTO. */
    public static BackendChoice fromEnvironment() {
        return parse(System.getenv(ENV));
    }
}
