package dev.resnext.cli;

import dev.resnext.data.SyntheticShapes;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Generates damaged and unusual image files for the reliability tests. */
final class BadFiles {
    private BadFiles() {
    }

    static byte[] encode(BufferedImage img, String format) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (!ImageIO.write(img, format, out)) {
                throw new IllegalStateException("no " + format + " writer for " + img.getType());
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void write(Path file, byte[] bytes) {
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A textured RGB picture. */
    static BufferedImage rgb(int w, int h, int seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, ((x * 13 + seed * 7) & 255) << 16 | ((y * 11 + seed) & 255) << 8 | ((x * y + seed) & 255));
            }
        }
        return img;
    }

    static BufferedImage gray8(int w, int h, int seed) {
        return SyntheticShapes.draw(seed % 4, Math.max(w, h), seed, seed).getSubimage(0, 0, w, h);
    }

    static BufferedImage gray16(int w, int h, int seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_USHORT_GRAY);
        WritableRaster r = img.getRaster();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                r.setSample(x, y, 0, (x * 4099 + y * 257 + seed * 911) & 0xFFFF);
            }
        }
        return img;
    }

    static BufferedImage rgba(int w, int h, int seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, ((x * 16) & 255) << 24 | ((x * 9 + seed) & 255) << 16 | ((y * 5) & 255) << 8 | (seed & 255));
            }
        }
        return img;
    }

    static BufferedImage palette(int w, int h, int seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED);
        img.createGraphics().drawImage(rgb(w, h, seed), 0, 0, null);
        return img;
    }

    /** PNG signature followed by garbage. */
    static byte[] garbagePng() {
        return new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 1, 2, 3, 4, 5};
    }

    static byte[] truncated(byte[] bytes, double fraction) {
        return Arrays.copyOf(bytes, (int) (bytes.length * fraction));
    }

    /** A real PNG cut in half (the image data ends early). */
    static byte[] truncatedPng() {
        return truncated(encode(gray8(16, 16, 3), "png"), 0.6);
    }

    /** A real JPEG cut at 80% (the header is complete, the scan data ends early). */
    static byte[] truncatedJpeg() {
        return truncated(encode(rgb(64, 64, 1), "jpg"), 0.8);
    }
}
