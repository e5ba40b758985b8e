package dev.resnext.data;

import dev.resnext.ResNeXtException;
import dev.resnext.io.NpyFiles;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One split of a MedMNIST-style {@code .npz}: arrays {@code <split>_images} ({@code [N,H,W]} or
 * {@code [N,H,W,C]}) and {@code <split>_labels} ({@code [N]} or {@code [N,1]} class indices, or
 * {@code [N,L]} 0/1 findings for multi-label sets such as ChestMNIST); see {@link #load} for what
 * the values may be. An npz carries no class names, so classes are named by index unless names are
 * given (for example a model's labels).
 *
 * <p>Only the split asked for is opened, and its images are read one at a time ({@link NpzStore}:
 * raw bytes in memory for small arrays, an extracted cache file for large ones), with {@code long}
 * offsets: sets larger than memory and beyond 2^31 values work.
 */
public final class NpzImageSet implements ImageSet {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NpzImageSet.class);
    private final Path file;
    private final String split;
    private final NpzStore store;
    private final double scale;
    private final int n;
    private final int h;
    private final int w;
    private final int c;
    private final int[] labels;
    private final int[][] targets;
    private final List<String> classes;
    private final int bitDepth;

    private NpzImageSet(Path file, String split, NpzStore store, double scale, int n, int h, int w, int c,
                        int[] labels, int[][] targets, List<String> classes, int bitDepth) {
        this.file = file;
        this.split = split;
        this.store = store;
        this.scale = scale;
        this.n = n;
        this.h = h;
        this.w = w;
        this.c = c;
        this.labels = labels;
        this.targets = targets;
        this.classes = classes;
        this.bitDepth = bitDepth;
    }

    /**
     * Loads {@code split} of {@code file}. This is the one place where an .npz enters, so every rule
     * about what its values mean is checked here, before any array is used:
     * <ul>
     * <li>images: unsigned or non-negative integers are 8-bit (max at most 255, scaled by 1/255) or
     * 16-bit (scaled by 1/65535); floats are intensities in [0,1], or 8-bit values stored as float
     * (max above 1 and at most 255: scaled by 1/255, with a warning); bool is 0/1. The choice is made
     * on all splits of the file together (streamed, nothing held), so that training and validation
     * images mean the same. Negative, NaN or infinite values, and floats above 255, are refused;</li>
     * <li>labels: {@code [N]} or {@code [N,1]}: whole numbers (integer type, or float without
     * fraction), not negative, and the classes 0..K-1 must each have an image in some split: labels
     * {0, 255} are refused rather than turned into a 256-class model. {@code [N,L]} with L above 1:
     * multi-label, every entry 0 or 1, the same L in every split.</li>
     * </ul>
     *
     * @param classNames class names to use (e.g. a model's labels), or null for "0".."K-1" with K
     *                   taken from the labels of all splits of the file
     * @throws ResNeXtException naming the file and array when the data cannot mean what an image set needs
     */
    public static NpzImageSet load(Path file, String split, List<String> classNames) {
        if (!Files.isRegularFile(file)) {
            throw new ResNeXtException("data file not found: " + file);
        }
        String ik = split + "_images";
        String lk = split + "_labels";
        Map<String, NpyFiles.Header> headers = NpyFiles.readNpzHeaders(file);
        if (!headers.containsKey(ik) || !headers.containsKey(lk)) {
            List<String> splits = new ArrayList<>();
            for (String k : headers.keySet()) {
                if (k.endsWith("_images")) splits.add(k.substring(0, k.length() - "_images".length()));
            }
            throw new ResNeXtException(file + " has no '" + ik + "' and '" + lk + "' arrays"
                    + (splits.isEmpty() ? " (expected MedMNIST layout: <split>_images, <split>_labels)"
                    : "; splits present: " + String.join(", ", splits)));
        }
        NpyFiles.Header ih = headers.get(ik);
        long[] shape = ih.shape();
        if (shape.length != 3 && shape.length != 4) {
            throw new ResNeXtException(file + ": " + ik + " must be [N,H,W] or [N,H,W,C], got " + ih.shapeString());
        }
        for (long d : shape) {
            if (d < 1) {
                throw new ResNeXtException(file + ": " + ik + " has an empty dimension: " + ih.shapeString());
            }
        }
        long c0 = shape.length == 4 ? shape[3] : 1;
        if (c0 != 1 && c0 != 3) {
            throw new ResNeXtException(file + ": " + ik + " has " + c0 + " channels; 1 or 3 are supported");
        }
        if (ih.fortranOrder()) {
            throw new ResNeXtException(file + ": " + ik + " is stored in Fortran order; save it in C order "
                    + "(numpy.ascontiguousarray) so that each image is contiguous");
        }
        if (shape[0] > Integer.MAX_VALUE - 8 || (long) shape[1] * shape[2] * c0 > Integer.MAX_VALUE / 4) {
            throw new ResNeXtException(file + ": " + ik + " " + ih.shapeString() + " has too many images or too "
                    + "large images");
        }
        int n = (int) shape[0];
        NpyFiles.Header lh = headers.get(lk);
        long[] ls = lh.shape();
        boolean multi = ls.length == 2 && ls[1] > 1;
        if (ls.length == 0 || ls[0] != n || ls.length > 2 || (ls.length == 2 && ls[1] < 1)) {
            throw new ResNeXtException(file + ": " + lk + " must hold one class index per image ([" + n
                    + "] or [" + n + ",1]) or one 0/1 row per image ([" + n + ",L]), got " + lh.shapeString());
        }
        Scaling scaling = scaling(file, headers);
        if (scaling.warning != null && split.equals(firstSplit(headers))) {
            log.warn("{}", scaling.warning);
        }
        double[] lab = readAll(file, lk);
        int[] labels;
        int[][] targets = null;
        List<String> classes = classNames;
        if (multi) {
            int l = (int) ls[1];
            targets = new int[n][l];
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < l; k++) {
                    double x = lab[i * l + k];
                    if (x != 0 && x != 1) {
                        throw new ResNeXtException(file + ": " + lk + " [" + i + ", " + k + "] is " + num(x)
                                + "; multi-label rows must hold 0 or 1 per finding");
                    }
                    targets[i][k] = (int) x;
                }
            }
            labels = new int[n];
            for (Map.Entry<String, NpyFiles.Header> e : headers.entrySet()) {
                long[] os = e.getValue().shape();
                if (e.getKey().endsWith("_labels") && (os.length != 2 || os[1] != l)) {
                    throw new ResNeXtException(file + ": " + lk + " has " + l + " findings per image but "
                            + e.getKey() + " is " + e.getValue().shapeString());
                }
            }
            if (classes == null) {
                classes = new ArrayList<>();
                for (int k = 0; k < l; k++) classes.add(Integer.toString(k));
            } else if (classes.size() != l) {
                throw new ResNeXtException(file + ": " + lk + " has " + l + " findings but the model has "
                        + classes.size() + " outputs");
            }
        } else {
            labels = classIndices(file, lk, lab);
            int maxLabel = -1;
            for (int v : labels) maxLabel = Math.max(maxLabel, v);
            if (classes == null) {
                classes = classesOfAllSplits(file, headers);
            } else if (maxLabel >= classes.size()) {
                throw new ResNeXtException(file + ": " + lk + " has class index " + maxLabel + " but the model has only "
                        + classes.size() + " classes");
            }
        }
        NpzStore store = NpzStore.open(file, ik);
        return new NpzImageSet(file, split, store, scaling.factor, n, (int) shape[1], (int) shape[2], (int) c0,
                labels, targets, List.copyOf(classes), scaling.bits);
    }

    /** How the image values of a file are turned into intensities in [0,1]. */
    private record Scaling(double factor, int bits, String warning) {
    }

    private static String firstSplit(Map<String, NpyFiles.Header> headers) {
        for (String k : headers.keySet()) {
            if (k.endsWith("_images")) return k.substring(0, k.length() - "_images".length());
        }
        return "";
    }

    private static double[] readAll(Path file, String key) {
        NpyFiles.Header h = NpyFiles.readNpzHeaders(file).get(key);
        if (h.length() > Integer.MAX_VALUE - 8) {
            throw new ResNeXtException(file + ": " + key + " " + h.shapeString() + " is too large");
        }
        double[] out = new double[(int) h.length()];
        int[] k = {0};
        NpzStore.scan(file, key, v -> out[k[0]++] = v);
        return out;
    }

    /** Decisions already made, per file version: opening the val split after train does not stream the file again. */
    private static final Map<String, Scaling> SCALINGS = new java.util.concurrent.ConcurrentHashMap<>();

    private static Scaling scaling(Path file, Map<String, NpyFiles.Header> headers) {
        String id;
        try {
            Path abs = file.toAbsolutePath().normalize();
            id = abs + "|" + Files.size(abs) + "|" + Files.getLastModifiedTime(abs).toMillis();
        } catch (java.io.IOException e) {
            return decideScaling(file, headers);
        }
        Scaling s = SCALINGS.get(id);
        if (s == null) {
            s = decideScaling(file, headers);
            SCALINGS.put(id, s);
        }
        return s;
    }

    /** One decision for all {@code *_images} arrays of the file, so that every split is scaled alike. */
    private static Scaling decideScaling(Path file, Map<String, NpyFiles.Header> headers) {
        double[] min = {Double.POSITIVE_INFINITY};
        double[] max = {Double.NEGATIVE_INFINITY};
        boolean floating = false;
        boolean bool = true;
        for (Map.Entry<String, NpyFiles.Header> e : headers.entrySet()) {
            if (!e.getKey().endsWith("_images") || e.getValue().length() == 0) continue;
            NpyFiles.Header hd = e.getValue();
            floating |= hd.isFloating();
            bool &= hd.kind() == 'b';
            NpzStore.Stats st = NpzStore.stats(file, e.getKey());
            long[] bad = {st.nonFinite()};
            min[0] = Math.min(min[0], st.min());
            max[0] = Math.max(max[0], st.max());
            if (bad[0] > 0) {
                throw new ResNeXtException(file + ": " + e.getKey() + " has " + bad[0]
                        + " NaN or infinite values; images must be finite intensities");
            }
        }
        if (min[0] < 0) {
            throw new ResNeXtException(String.format(java.util.Locale.ROOT,
                    "%s: image values go down to %s; expected intensities in [0,1] (float) or 0..255 / 0..65535 "
                            + "(integers), not negative values (standardised images cannot be used as they are)",
                    file, num(min[0])));
        }
        if (bool) {
            return new Scaling(1.0, 8, null);
        }
        if (!floating) {
            if (max[0] <= 255) return new Scaling(1.0 / 255, 8, null);
            if (max[0] <= 65535) return new Scaling(1.0 / 65535, 16, null);
            throw new ResNeXtException(file + ": integer image values go up to " + num(max[0])
                    + "; 8-bit (0..255) and 16-bit (0..65535) images are supported");
        }
        if (max[0] <= 1) {
            return new Scaling(1.0, 8, null);
        }
        if (max[0] <= 255) {
            return new Scaling(1.0 / 255, 8, file + ": images are stored as float with values up to " + num(max[0])
                    + "; reading them as 8-bit intensities (0..255, scaled by 1/255)");
        }
        throw new ResNeXtException(file + ": float image values go up to " + num(max[0])
                + "; expected intensities in [0,1], or 8-bit values 0..255 stored as float");
    }

    /** Labels as class indices: whole, finite and not negative, whatever their stored type. */
    private static int[] classIndices(Path file, String key, double[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            double x = v[i];
            if (!Double.isFinite(x) || x != Math.rint(x)) {
                throw new ResNeXtException(file + ": " + key + " at position " + i + " is " + num(x)
                        + "; labels must be whole class indices 0..K-1 (one-hot, soft or fractional labels are "
                        + "not supported)");
            }
            if (x < 0) {
                throw new ResNeXtException(file + ": " + key + " has a negative class index at position " + i);
            }
            if (x > 100_000) {
                throw new ResNeXtException(file + ": " + key + " at position " + i + " is " + num(x)
                        + "; class indices must be 0..K-1");
            }
            out[i] = (int) x;
        }
        return out;
    }

    /**
     * "0".."K-1" for the labels of every split; every index below the largest must be used, or the
     * numbering is not 0..K-1 and a model with empty classes would be built.
     */
    private static List<String> classesOfAllSplits(Path file, Map<String, NpyFiles.Header> headers) {
        java.util.TreeSet<Integer> used = new java.util.TreeSet<>();
        for (Map.Entry<String, NpyFiles.Header> e : headers.entrySet()) {
            if (e.getKey().endsWith("_labels") && e.getValue().length() > 0) {
                for (int v : classIndices(file, e.getKey(), readAll(file, e.getKey()))) used.add(v);
            }
        }
        int k = used.isEmpty() ? 0 : used.last() + 1;
        if (used.size() != k) {
            List<Integer> missing = new ArrayList<>();
            for (int i = 0; i < k && missing.size() < 5; i++) {
                if (!used.contains(i)) missing.add(i);
            }
            String shown = used.size() <= 10 ? used.toString() : used.size() + " distinct values";
            throw new ResNeXtException(file + ": labels use class indices " + shown + " but " + (k - used.size())
                    + " indices below " + (k - 1) + " have no image in any split (e.g. " + missing
                    + "); labels must be class indices 0..K-1 with every class present: renumber them");
        }
        List<String> classes = new ArrayList<>();
        for (int i = 0; i < k; i++) classes.add(Integer.toString(i));
        return classes;
    }

    private static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    @Override public int size() { return n; }
    @Override public int label(int i) { return labels[i]; }
    @Override public List<String> classNames() { return classes; }
    @Override public String describe(int i) { return file.getFileName() + ":" + split + "[" + i + "]"; }
    @Override public String name() { return file.getFileName() + " split " + split; }
    @Override public boolean multiLabel() { return targets != null; }
    @Override public int[] targets(int i) { return targets != null ? targets[i].clone() : ImageSet.super.targets(i); }

    @Override
    public int[] classCounts() {
        if (targets == null) return ImageSet.super.classCounts();
        int[] counts = new int[classes.size()];
        for (int[] t : targets) for (int k = 0; k < t.length; k++) counts[k] += t[k];
        return counts;
    }

    @Override
    public DecodedImage decode(int i) {
        int len = h * w * c;
        NpyFiles.Header hd = store.header();
        byte[] raw = new byte[len * hd.itemSize()];
        // long arithmetic: i * len passes 2^31 in sets such as ChestMNIST at 224x224
        store.read((long) i * len, raw);
        ByteBuffer buf = ByteBuffer.wrap(raw).order(hd.byteOrder());
        float[] px = new float[len];
        for (int k = 0; k < len; k++) {
            px[k] = (float) (NpzStore.element(hd, buf, k) * scale);
        }
        return new DecodedImage(px, h, w, c, bitDepth);
    }
}
