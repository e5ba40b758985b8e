package dev.resnext.data;

import dev.resnext.model.InputShape;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * An {@link ImageSet} converted to a network input shape ({@link ImageOps#toInput}), with the
 * converted images kept in memory when they fit in a budget, so that folders of files are decoded
 * once rather than every epoch.
 */
public final class PreparedImages {
    /** Default memory budget for cached images (bytes). */
    public static final long DEFAULT_CACHE_BYTES = 1L << 30;

    /** The budget: system property {@code resnext.imageCacheBytes} ({@link DataSettings}), else 1 GB. */
    public static long cacheBudget() {
        return DataSettings.imageCacheBytes();
    }

    private final ImageSet set;
    private final InputShape shape;
    private final AtomicReferenceArray<float[]> cache;

    public PreparedImages(ImageSet set, InputShape shape, long cacheBytes) {
        this.set = set;
        this.shape = shape;
        long bytes = (long) set.size() * shape.height() * shape.width() * shape.channels() * 4L;
        this.cache = bytes <= cacheBytes ? new AtomicReferenceArray<>(set.size()) : null;
    }

    public PreparedImages(ImageSet set, InputShape shape) {
        this(set, shape, cacheBudget());
    }

    public ImageSet set() {
        return set;
    }

    public InputShape shape() {
        return shape;
    }

    /** Image {@code i} at the input shape, planar; callers must not modify the returned array. */
    public float[] get(int i) {
        if (cache != null) {
            float[] v = cache.get(i);
            if (v == null) {
                v = ImageOps.toInput(set.decode(i), shape);
                cache.set(i, v);
            }
            return v;
        }
        return ImageOps.toInput(set.decode(i), shape);
    }
}
