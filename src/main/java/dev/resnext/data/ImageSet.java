package dev.resnext.data;

import java.util.List;

/**
 * A labelled set of images: an image folder, a split of an {@code .npz} file, or a subset of
 * either. Images are decoded on demand.
 */
public interface ImageSet {
    /** Number of images. */
    int size();

    /** Class index of image {@code i}. */
    int label(int i);

    /** Class names; index = label. */
    List<String> classNames();

    /** Where image {@code i} comes from (a path, or "file.npz:train[12]"), for messages and reports. */
    String describe(int i);

    /** Decodes image {@code i}. */
    DecodedImage decode(int i);

    /** What the set is, for logs ("folder data/shapes", "pneumoniamnist.npz split train"). */
    String name();

    /** Whether images carry several 0/1 labels (multi-label) rather than one class. */
    default boolean multiLabel() {
        return false;
    }

    /**
     * Target vector of image {@code i}: one-hot of {@link #label} for single-label sets, the 0/1
     * findings for multi-label sets.
     */
    default int[] targets(int i) {
        int[] t = new int[classNames().size()];
        t[label(i)] = 1;
        return t;
    }

    /** Number of images per class. */
    default int[] classCounts() {
        int[] counts = new int[classNames().size()];
        for (int i = 0; i < size(); i++) {
            counts[label(i)]++;
        }
        return counts;
    }

    /** All labels. */
    default int[] labels() {
        int[] l = new int[size()];
        for (int i = 0; i < l.length; i++) {
            l[i] = label(i);
        }
        return l;
    }

    /** The images at {@code indices}, in that order. */
    default ImageSet subset(int[] indices, String name) {
        ImageSet parent = this;
        int[] idx = indices.clone();
        return new ImageSet() {
            @Override public int size() { return idx.length; }
            @Override public int label(int i) { return parent.label(idx[i]); }
            @Override public boolean multiLabel() { return parent.multiLabel(); }
            @Override public int[] targets(int i) { return parent.targets(idx[i]); }
            @Override public List<String> classNames() { return parent.classNames(); }
            @Override public String describe(int i) { return parent.describe(idx[i]); }
            @Override public DecodedImage decode(int i) { return parent.decode(idx[i]); }
            @Override public String name() { return name; }
        };
    }
}
