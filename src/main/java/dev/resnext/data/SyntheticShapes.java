package dev.resnext.data;

import dev.resnext.io.AtomicFiles;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * A generated image set: grayscale pictures of four shapes (circle, square, triangle, cross) at
 * random positions, sizes, rotations, contrasts and noise levels. It is the bundled default data
 * ({@code data/shapes}) and the test data of the training job: easy enough to learn in minutes,
 * varied enough that a model must generalise.
 */
public final class SyntheticShapes {
    /** Class names, in label order. */
    public static final List<String> CLASSES = List.of("circle", "cross", "square", "triangle");

    private SyntheticShapes() {
    }

    /** Draws image {@code index} of class {@code label}; the same arguments give the same image. */
    public static BufferedImage draw(int label, int size, long seed, int index) {
        Random rng = new Random(seed * 7919L + label * 104729L + index);
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        int background = 20 + rng.nextInt(60);
        int foreground = Math.min(255, background + 80 + rng.nextInt(120));
        g.setColor(new Color(background, background, background));
        g.fillRect(0, 0, size, size);
        double s = size * (0.35 + 0.3 * rng.nextDouble());
        double cx = size / 2.0 + (rng.nextDouble() - 0.5) * (size - s) * 0.8;
        double cy = size / 2.0 + (rng.nextDouble() - 0.5) * (size - s) * 0.8;
        AffineTransform t = new AffineTransform();
        t.translate(cx, cy);
        t.rotate(rng.nextDouble() * Math.PI * 2);
        g.transform(t);
        g.setColor(new Color(foreground, foreground, foreground));
        double h = s / 2;
        switch (CLASSES.get(label)) {
            case "circle" -> g.fill(new Ellipse2D.Double(-h, -h, s, s));
            case "square" -> g.fill(new Rectangle2D.Double(-h * 0.85, -h * 0.85, s * 0.85, s * 0.85));
            case "triangle" -> {
                Path2D p = new Path2D.Double();
                p.moveTo(0, -h);
                p.lineTo(h * 0.87, h * 0.5);
                p.lineTo(-h * 0.87, h * 0.5);
                p.closePath();
                g.fill(p);
            }
            case "cross" -> {
                g.setStroke(new BasicStroke((float) (s * 0.22)));
                g.drawLine((int) -h, 0, (int) h, 0);
                g.drawLine(0, (int) -h, 0, (int) h);
            }
            default -> throw new IllegalArgumentException("label " + label);
        }
        g.dispose();
        double noise = 4 + rng.nextDouble() * 14;
        var raster = img.getRaster();
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int v = raster.getSample(x, y, 0) + (int) Math.round(rng.nextGaussian() * noise);
                raster.setSample(x, y, 0, Math.max(0, Math.min(255, v)));
            }
        }
        return img;
    }

    /** Writes {@code perClass} PNGs of every class into {@code dir/<class>/NNNN.png}. */
    public static void writeFolder(Path dir, int perClass, int size, long seed) {
        for (int label = 0; label < CLASSES.size(); label++) {
            for (int i = 0; i < perClass; i++) {
                BufferedImage img = draw(label, size, seed, i);
                Path f = dir.resolve(CLASSES.get(label)).resolve(String.format("%04d.png", i));
                AtomicFiles.write(f, out -> ImageIO.write(img, "png", out));
            }
        }
    }

    /** An in-memory set of {@code perClass} images per class. */
    public static ImageSet inMemory(int perClass, int size, long seed) {
        int n = perClass * CLASSES.size();
        return new ImageSet() {
            @Override public int size() { return n; }
            @Override public int label(int i) { return i % CLASSES.size(); }
            @Override public List<String> classNames() { return CLASSES; }
            @Override public String describe(int i) { return "shapes[" + i + "]"; }
            @Override public DecodedImage decode(int i) {
                return ImageDecoder.fromBufferedImage(draw(label(i), size, seed, i / CLASSES.size()));
            }
            @Override public String name() { return "generated shapes (" + n + ")"; }
        };
    }
}
