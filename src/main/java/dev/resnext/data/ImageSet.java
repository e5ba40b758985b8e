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

    /**
     * Which entries of {@link #targets} count, for multi-label sets with uncertain labels that are
     * ignored: 1 where the target is known, 0 where it is masked out of the loss and the metrics;
     * null when every entry counts.
     */
    default float[] mask(int i) {
        return null;
    }

    /** Whether any image has a {@link #mask}. */
    default boolean hasMasks() {
        return false;
    }

    /**
     * The group of image {@code i} (a patient ID), or null when the set has no groups. Splits never
     * put one group on both sides.
     */
    default String group(int i) {
        return null;
    }

    /** Whether images carry {@link #group}s. */
    default boolean hasGroups() {
        return false;
    }

    /**
     * The class used to stratify splits: the label of single-label sets; for multi-label sets the
     * rarest finding each image has, or one extra stratum ({@code classNames().size()}) for none.
     */
    default int[] strata() {
        if (!multiLabel()) return labels();
        int[] counts = classCounts();
        int none = classNames().size();
        int[] out = new int[size()];
        for (int i = 0; i < out.length; i++) {
            int[] t = targets(i);
            int best = none;
            for (int k = 0; k < t.length; k++) {
                if (t[k] == 1 && (best == none || counts[k] < counts[best])) best = k;
            }
            out[i] = best;
        }
        return out;
    }

    /**
     * The images of a named official split (a manifest's split column: train, val, test, ...), or
     * null when the set has no such split.
     */
    default ImageSet split(String splitName) {
        return null;
    }

    /** Names of the official splits present; empty when the set has none. */
    default java.util.Set<String> splitNames() {
        return java.util.Set.of();
    }

    /** Number of images per class. */
    default int[] classCounts() {
        int[] counts = new int[classNames().size()];
        for (int i = 0; i < size(); i++) {
            if (multiLabel()) {
                // positives per finding; masked (ignored) entries count for nothing
                int[] t = targets(i);
                float[] m = mask(i);
                for (int k = 0; k < counts.length; k++) {
                    if (m == null || m[k] > 0) counts[k] += t[k];
                }
            } else {
                counts[label(i)]++;
            }
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
            @Override public float[] mask(int i) { return parent.mask(idx[i]); }
            @Override public boolean hasMasks() { return parent.hasMasks(); }
            @Override public String group(int i) { return parent.group(idx[i]); }
            @Override public boolean hasGroups() { return parent.hasGroups(); }
        };
    }
}
