package dev.resnext.data;

import java.util.Random;

/**
 * Random training-time transformations of a planar image: horizontal flip, translation (the
 * "pad and random crop" of CIFAR training, with zero fill) and small rotations.
 * Validation and test data are never augmented.
 *
 * @param flip            flip left-right with probability 0.5
 * @param maxShiftFraction  largest shift in each direction, as a fraction of the side: 0.125 = 4 of 32
 * @param maxRotationDeg  largest rotation in degrees (either way)
 */
public record Augmentation(boolean flip, double maxShiftFraction, double maxRotationDeg) {

    /** No augmentation. */
    public static final Augmentation NONE = new Augmentation(false, 0, 0);

    /** The default: flip, shifts up to 1/8 of the side, rotations up to 10 degrees. */
    public static Augmentation standard() {
        return new Augmentation(true, 0.125, 10);
    }

    /** Whether anything is enabled. */
    public boolean enabled() {
        return flip || maxShiftFraction > 0 || maxRotationDeg > 0;
    }

    /** Applies the enabled transformations in place to {@code chw} ({@code c x h x w}). */
    public float[] apply(float[] chw, int c, int h, int w, Random rng) {
        boolean doFlip = flip && rng.nextBoolean();
        double dx = maxShiftFraction > 0 ? (rng.nextDouble() * 2 - 1) * maxShiftFraction * w : 0;
        double dy = maxShiftFraction > 0 ? (rng.nextDouble() * 2 - 1) * maxShiftFraction * h : 0;
        double angle = maxRotationDeg > 0 ? Math.toRadians((rng.nextDouble() * 2 - 1) * maxRotationDeg) : 0;
        int sx = (int) Math.round(dx);
        int sy = (int) Math.round(dy);
        if (!doFlip && sx == 0 && sy == 0 && angle == 0) {
            return chw;
        }
        float[] out = new float[chw.length];
        double cos = Math.cos(angle);
        double sin = Math.sin(angle);
        double cx = (w - 1) / 2.0;
        double cy = (h - 1) / 2.0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                // inverse mapping: output (x, y) samples the source after undoing shift, rotation, flip
                double ux = x - sx - cx;
                double uy = y - sy - cy;
                double srcX = cos * ux + sin * uy + cx;
                double srcY = -sin * ux + cos * uy + cy;
                if (doFlip) srcX = w - 1 - srcX;
                int x0 = (int) Math.floor(srcX);
                int y0 = (int) Math.floor(srcY);
                double fx = srcX - x0;
                double fy = srcY - y0;
                for (int k = 0; k < c; k++) {
                    int base = k * h * w;
                    double v = sample(chw, base, w, h, x0, y0) * (1 - fx) * (1 - fy)
                            + sample(chw, base, w, h, x0 + 1, y0) * fx * (1 - fy)
                            + sample(chw, base, w, h, x0, y0 + 1) * (1 - fx) * fy
                            + sample(chw, base, w, h, x0 + 1, y0 + 1) * fx * fy;
                    out[base + y * w + x] = (float) v;
                }
            }
        }
        return out;
    }

    private static float sample(float[] chw, int base, int w, int h, int x, int y) {
        return x < 0 || y < 0 || x >= w || y >= h ? 0f : chw[base + y * w + x];
    }
}
