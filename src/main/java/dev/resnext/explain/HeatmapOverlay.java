package dev.resnext.explain;

import dev.resnext.data.DecodedImage;
import dev.resnext.data.ImageOps;
import dev.resnext.io.AtomicFiles;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;

/**
 * Renders a class-activation map over the image it explains: the map is upsampled bilinearly to the
 * original image's size (the network saw the whole image resized, so the map covers the whole image),
 * coloured with the jet colormap (blue = 0, red = 1, as in the Grad-CAM paper), and alpha-blended over
 * the original shown in grey or colour. The result is an 8-bit RGB image of the original's size.
 */
public final class HeatmapOverlay {
    /** Default weight of the heat map in the blend. */
    public static final double DEFAULT_ALPHA = 0.5;

    private HeatmapOverlay() {
    }

    /**
     * The overlay of {@code map} (values in [0, 1], any resolution) on {@code original}.
     *
     * @param alpha weight of the heat map, in [0, 1]: 0 shows only the image, 1 only the map
     */
    public static BufferedImage render(DecodedImage original, float[][] map, double alpha) {
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha must be between 0 and 1, was " + alpha);
        }
        int h = original.height();
        int w = original.width();
        float[] heat = upsample(map, h, w);
        float[] gray = displayValues(original);
        int c = original.channels();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x;
                double r;
                double g;
                double b;
                if (c >= 3) {
                    r = gray[i * c];
                    g = gray[i * c + 1];
                    b = gray[i * c + 2];
                } else {
                    r = g = b = gray[i * c];
                }
                double v = heat[i];
                r = (1 - alpha) * r + alpha * jetRed(v);
                g = (1 - alpha) * g + alpha * jetGreen(v);
                b = (1 - alpha) * b + alpha * jetBlue(v);
                row[x] = (to8(r) << 16) | (to8(g) << 8) | to8(b);
            }
            out.setRGB(0, y, w, 1, row, 0, w);
        }
        return out;
    }

    /**
     * Bilinear upsampling (half-pixel centres, edge clamping, as the network's input resize) of an
     * {@code [h][w]} map to {@code height x width}; row-major result.
     */
    public static float[] upsample(float[][] map, int height, int width) {
        int h = map.length;
        int w = h == 0 ? 0 : map[0].length;
        if (h == 0 || w == 0) {
            throw new IllegalArgumentException("empty map");
        }
        float[] flat = new float[h * w];
        for (int i = 0; i < h; i++) {
            System.arraycopy(map[i], 0, flat, i * w, w);
        }
        if (h == height && w == width) {
            return flat;
        }
        return ImageOps.resize(flat, 1, h, w, height, width);
    }

    /**
     * Display values of the original in [0, 1]: 8-bit images as they are; images of higher bit depth
     * (e.g. 12-bit X-rays stored in 16 bits) stretched linearly from their darkest to their brightest
     * sample, since they often use a small part of the 16-bit range and would look black.
     */
    static float[] displayValues(DecodedImage img) {
        float[] px = img.pixels();
        if (img.bitDepth() <= 8) {
            return px;
        }
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (float v : px) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        if (!(max > min)) {
            return px;
        }
        float[] out = new float[px.length];
        float scale = 1f / (max - min);
        for (int i = 0; i < px.length; i++) {
            out[i] = (px[i] - min) * scale;
        }
        return out;
    }

    /** The jet colour of {@code v} in [0, 1] as packed 0xRRGGBB. */
    public static int jet(double v) {
        return (to8(jetRed(v)) << 16) | (to8(jetGreen(v)) << 8) | to8(jetBlue(v));
    }

    private static double jetRed(double v) {
        return clamp(1.5 - Math.abs(4 * v - 3));
    }

    private static double jetGreen(double v) {
        return clamp(1.5 - Math.abs(4 * v - 2));
    }

    private static double jetBlue(double v) {
        return clamp(1.5 - Math.abs(4 * v - 1));
    }

    private static double clamp(double v) {
        return v < 0 ? 0 : Math.min(v, 1);
    }

    private static int to8(double v) {
        return (int) Math.round(clamp(v) * 255);
    }

    /** Writes an image as PNG atomically (a temporary file renamed over the target). */
    public static void writePng(Path target, BufferedImage image) {
        AtomicFiles.write(target, out -> {
            if (!ImageIO.write(image, "png", out)) {
                throw new java.io.IOException("no PNG writer");
            }
        });
    }
}
