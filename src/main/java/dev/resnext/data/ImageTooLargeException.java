package dev.resnext.data;

import dev.resnext.ResNeXtException;

/**
 * An image whose header announces more pixels than {@link ImageDecoder#maxPixels()} allows: refused
 * before it is decoded, since a small file (a "decompression bomb") can decode to gigabytes.
 */
public final class ImageTooLargeException extends ResNeXtException {
    private final long pixels;

    public ImageTooLargeException(String message, long pixels) {
        super(message);
        this.pixels = pixels;
    }

    /** Pixels the image would have. */
    public long pixels() {
        return pixels;
    }
}
