package dev.resnext.data;

import java.nio.file.Path;

/**
 * The data path's settings, as {@link dev.resnext.RuntimeSettings} reads them (the one class that
 * reads {@code resnext.*} properties; a bad value is an error naming the property). They tune
 * memory, not results, so they are not stored in a model zip.
 */
public final class DataSettings {
    private DataSettings() {
    }

    /** Largest .npz image array kept as raw bytes in memory (resnext.npzInMemoryBytes, default 256 MB). */
    public static long npzInMemoryBytes() {
        return dev.resnext.RuntimeSettings.current().npzInMemoryBytes();
    }

    /** Budget for prepared images held in memory (resnext.imageCacheBytes, default 1 GB). */
    public static long imageCacheBytes() {
        return dev.resnext.RuntimeSettings.current().imageCacheBytes();
    }

    /** resnext.cacheDir, else the environment's RESNEXT_CACHE, else ~/.cache/resnext: where large .npz arrays are extracted. */
    public static Path cacheDir() {
        String p = dev.resnext.RuntimeSettings.current().cacheDir();
        if (p == null || p.isBlank()) p = System.getenv("RESNEXT_CACHE");
        if (p == null || p.isBlank()) return Path.of(System.getProperty("user.home"), ".cache", "resnext");
        return Path.of(p);
    }
}
