package dev.resnext.data;

import java.nio.file.Path;

/**
 * The {@code resnext.*} system properties of the data path, read here only: a bad value is an error
 * naming the property, never a silent default. (They tune memory, not results, so they are not
 * stored in a model zip.)
 */
public final class DataSettings {
    private DataSettings() {
    }

    /** {@code resnext.npzInMemoryBytes}: largest .npz image array kept as raw bytes in memory (default 256 MB). */
    public static long npzInMemoryBytes() {
        return bytes("resnext.npzInMemoryBytes", 256L << 20);
    }

    /** {@code resnext.imageCacheBytes}: budget for prepared images held in memory (default 1 GB). */
    public static long imageCacheBytes() {
        return bytes("resnext.imageCacheBytes", 1L << 30);
    }

    /**
     * {@code resnext.cacheDir}, else the environment's {@code RESNEXT_CACHE}, else {@code ~/.cache/resnext}:
     * where large .npz arrays are extracted.
     */
    public static Path cacheDir() {
        String p = System.getProperty("resnext.cacheDir");
        if (p == null || p.isBlank()) p = System.getenv("RESNEXT_CACHE");
        if (p == null || p.isBlank()) return Path.of(System.getProperty("user.home"), ".cache", "resnext");
        return Path.of(p);
    }

    private static long bytes(String name, long def) {
        String v = System.getProperty(name);
        if (v == null) return def;
        try {
            long b = Long.parseLong(v.trim());
            if (b < 0) throw new NumberFormatException();
            return b;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + name + " must be a number of bytes (0 or more), was '" + v + "'");
        }
    }
}
