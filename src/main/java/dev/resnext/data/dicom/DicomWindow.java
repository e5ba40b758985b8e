package dev.resnext.data.dicom;

import java.util.Locale;

/**
 * How DICOM modality values (after rescale slope/intercept) become intensities in [0, 1]:
 * the file's own first Window Center/Width ({@link Mode#FILE}, full range when the file has none),
 * the full range of the stored bits ({@link Mode#NONE}), or a fixed window ({@link Mode#FIXED}).
 *
 * @param mode   which window
 * @param center window centre for {@link Mode#FIXED}, in modality units (e.g. Hounsfield units)
 * @param width  window width for {@link Mode#FIXED}; at least 1
 */
public record DicomWindow(Mode mode, double center, double width) {
    /** Where the window comes from. */
    public enum Mode { FILE, NONE, FIXED }

    /** The file's window when it has one, else the full range. */
    public static final DicomWindow FROM_FILE = new DicomWindow(Mode.FILE, 0, 0);
    /** The full range of the stored bits, mapped through the rescale. */
    public static final DicomWindow FULL_RANGE = new DicomWindow(Mode.NONE, 0, 0);

    public DicomWindow {
        if (mode == Mode.FIXED && (!(width >= 1) || !Double.isFinite(width) || !Double.isFinite(center))) {
            throw new IllegalArgumentException("a window needs a finite centre and a width of at least 1, was "
                    + center + "," + width);
        }
    }

    /** A fixed window. */
    public static DicomWindow of(double center, double width) {
        return new DicomWindow(Mode.FIXED, center, width);
    }

    /**
     * Parses {@code file}, {@code none} or {@code C,W}.
     *
     * @throws IllegalArgumentException for anything else
     */
    public static DicomWindow parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("file")) return FROM_FILE;
        if (t.equals("none") || t.equals("full")) return FULL_RANGE;
        String[] parts = t.split(",");
        if (parts.length == 2) {
            try {
                return of(Double.parseDouble(parts[0].trim()), Double.parseDouble(parts[1].trim()));
            } catch (NumberFormatException e) {
                // fall through to the message below
            }
        }
        throw new IllegalArgumentException("window must be file, none or CENTER,WIDTH (e.g. 40,400), was '"
                + text + "'");
    }

    @Override
    public String toString() {
        return switch (mode) {
            case FILE -> "file";
            case NONE -> "none";
            case FIXED -> center + "," + width;
        };
    }
}
