package dev.resnext.data;

/**
 * A decoded image with pixel values scaled to [0, 1] by its bit depth (8-bit: /255, 16-bit: /65535).
 *
 * @param pixels   interleaved pixels, row-major, {@code [height][width][channels]}
 * @param height   rows
 * @param width    columns
 * @param channels 1 (grayscale) or 3 (RGB); alpha is dropped when decoding
 * @param bitDepth bits per sample of the source (8 or 16)
 */
public record DecodedImage(float[] pixels, int height, int width, int channels, int bitDepth) {
    public DecodedImage {
        if (pixels.length != height * width * channels) {
            throw new IllegalArgumentException("pixel count " + pixels.length + " does not match " + height + "x"
                    + width + "x" + channels);
        }
    }
}
