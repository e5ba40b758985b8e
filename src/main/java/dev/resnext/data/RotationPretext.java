package dev.resnext.data;

import java.util.List;

/**
 * A self-supervised pretext task built from unlabelled images (Gidaris et al. 2018, "Unsupervised
 * representation learning by predicting image rotations"): each image is shown rotated by 0, 90,
 * 180 or 270 degrees and the network learns which. A backbone pre-trained this way on a medical
 * set's own images is a starting point for {@code finetune} when no ImageNet weights are at hand.
 * Image {@code i} gets rotation {@code i mod 4}, so every rotation is equally frequent.
 */
public final class RotationPretext implements ImageSet {
    /** Class names: the rotation in degrees. */
    public static final List<String> CLASSES = List.of("rot0", "rot90", "rot180", "rot270");

    private final ImageSet images;

    public RotationPretext(ImageSet images) {
        this.images = images;
    }

    @Override public int size() { return images.size(); }
    @Override public int label(int i) { return i % 4; }
    @Override public List<String> classNames() { return CLASSES; }
    @Override public String describe(int i) { return images.describe(i) + " rotated " + (90 * label(i)); }
    @Override public String name() { return "rotation pretext of " + images.name(); }

    @Override
    public DecodedImage decode(int i) {
        return rotate(images.decode(i), label(i));
    }

    /** Rotates counter-clockwise by {@code quarterTurns} x 90 degrees. */
    static DecodedImage rotate(DecodedImage img, int quarterTurns) {
        int h = img.height();
        int w = img.width();
        int c = img.channels();
        float[] src = img.pixels();
        int turns = ((quarterTurns % 4) + 4) % 4;
        if (turns == 0) return img;
        int oh = turns % 2 == 0 ? h : w;
        int ow = turns % 2 == 0 ? w : h;
        float[] dst = new float[src.length];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int ny;
                int nx;
                switch (turns) {
                    case 1 -> { ny = w - 1 - x; nx = y; }
                    case 2 -> { ny = h - 1 - y; nx = w - 1 - x; }
                    default -> { ny = x; nx = h - 1 - y; }
                }
                System.arraycopy(src, (y * w + x) * c, dst, (ny * ow + nx) * c, c);
            }
        }
        return new DecodedImage(dst, oh, ow, c, img.bitDepth());
    }
}
