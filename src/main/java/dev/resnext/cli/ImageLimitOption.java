package dev.resnext.cli;

import dev.resnext.data.ImageDecoder;
import picocli.CommandLine.Option;

/** {@code --max-image-pixels}: the decoder's pixel limit, for every command that reads image files. */
public final class ImageLimitOption {
    @Option(names = "--max-image-pixels", paramLabel = "N",
            description = "Refuse (or with --skip-unreadable skip) images with more than N pixels, read from the file's "
                    + "header before decoding (default: 50000000).")
    Long maxImagePixels;

    /** Sets the limit for this command (the default when the option is absent). */
    void apply() {
        if (maxImagePixels != null && maxImagePixels < 1) {
            throw new IllegalArgumentException("--max-image-pixels must be at least 1, was " + maxImagePixels);
        }
        ImageDecoder.setMaxPixels(maxImagePixels != null ? maxImagePixels : ImageDecoder.DEFAULT_MAX_PIXELS);
    }
}
