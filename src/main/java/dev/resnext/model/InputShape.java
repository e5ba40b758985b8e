package dev.resnext.model;

/**
 * Image input shape, written "HxWxC" on the command line (e.g. {@code 224x224x3}).
 *
 * @param height   rows
 * @param width    columns
 * @param channels 1 (grayscale), 3 (RGB) or another positive count
 */
public record InputShape(int height, int width, int channels) {

    public InputShape {
        if (height < 1 || width < 1 || channels < 1) {
            throw new IllegalArgumentException("input shape must be positive, got " + height + "x" + width + "x" + channels);
        }
    }

    /** Parses "HxWxC" (or "HxW", meaning 3 channels). */
    public static InputShape parse(String s) {
        String[] parts = s.trim().toLowerCase(java.util.Locale.ROOT).split("x");
        if (parts.length < 2 || parts.length > 3) {
            throw new IllegalArgumentException("input shape '" + s + "' must look like HxWxC, e.g. 224x224x3");
        }
        try {
            int h = Integer.parseInt(parts[0]);
            int w = Integer.parseInt(parts[1]);
            int c = parts.length == 3 ? Integer.parseInt(parts[2]) : 3;
            return new InputShape(h, w, c);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("input shape '" + s + "' must look like HxWxC, e.g. 224x224x3");
        }
    }

    @Override
    public String toString() {
        return height + "x" + width + "x" + channels;
    }
}
