package dev.resnext.cli;

import dev.resnext.data.ImageDecoder;
import dev.resnext.data.dicom.DicomReader;
import dev.resnext.data.dicom.DicomWindow;
import picocli.CommandLine.Option;

/**
 * {@code --max-image-pixels} and {@code --window}: how image files are decoded, for every command
 * that reads them.
 */
public final class ImageLimitOption {
    @Option(names = "--max-image-pixels", paramLabel = "N",
            description = "Refuse (or with --skip-unreadable skip) images with more than N pixels, read from the file's "
                    + "header before decoding (default: 50000000).")
    Long maxImagePixels;

    @Option(names = "--window", paramLabel = "file|none|C,W",
            description = "DICOM display window: the file's own Window Center/Width (file, the default; the full "
                    + "range when a file has none), the full range of the stored bits (none), or a fixed centre "
                    + "and width in the modality's units after rescale, e.g. 40,400 for Hounsfield units.")
    String window;

    /** Sets the limit for this command (the default when the option is absent). */
    void apply() {
        if (maxImagePixels != null && maxImagePixels < 1) {
            throw new IllegalArgumentException("--max-image-pixels must be at least 1, was " + maxImagePixels);
        }
        ImageDecoder.setMaxPixels(maxImagePixels != null ? maxImagePixels : ImageDecoder.DEFAULT_MAX_PIXELS);
        try {
            DicomReader.setDefaultWindow(window == null ? DicomWindow.FROM_FILE : DicomWindow.parse(window));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--window: " + e.getMessage());
        }
    }
}
