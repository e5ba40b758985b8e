package dev.resnext.data;

import dev.resnext.ResNeXtException;
import dev.resnext.io.NpyFiles;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One split of a MedMNIST-style {@code .npz}: arrays {@code <split>_images} ({@code [N,H,W]} or
 * {@code [N,H,W,C]}) and {@code <split>_labels} ({@code [N]} or {@code [N,1]} class indices); see
 * {@link #load} for what the values may be. An npz carries no class names, so classes are named by index unless names are
 * given (for example a model's labels).
 */
public final class NpzImageSet implements ImageSet {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NpzImageSet.class);
    private final Path file;
    private final String split;
    private final float[] pixels; // N*H*W*C, scaled to [0,1]
    private final int n;
    private final int h;
    private final int w;
    private final int c;
    private final int[] labels;
    private final List<String> classes;
    private final int bitDepth;

    private NpzImageSet(Path file, String split, float[] pixels, int n, int h, int w, int c, int[] labels,
                        List<String> classes, int bitDepth) {
        this.file = file;
        this.split = split;
        this.pixels = pixels;
        this.n = n;
        this.h = h;
        this.w = w;
        this.c = c;
        this.labels = labels;
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
     * on all splits of the file together, so that training and validation images mean the same.
     * Negative, NaN or infinite values, and floats above 255, are refused;</li>
     * <li>labels: whole numbers (integer type, or float without fraction), not negative, and the
     * classes 0..K-1 must each have an image in some split: labels {0, 255} are refused rather than
     * turned into a 256-class model;</li>
     * <li>size: the images must fit in half of the Java heap once converted to float (checked from
     * the headers, before the data is read: a small compressed archive may expand enormously).</li>
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
        long floatBytes = ih.length() * 4;
        long budget = Runtime.getRuntime().maxMemory() / 2;
        if (ih.length() > Integer.MAX_VALUE - 16 || floatBytes > budget) {
            throw new ResNeXtException(String.format(java.util.Locale.ROOT,
                    "%s: %s %s needs %d MB as float, more than half of the Java heap (%d MB); use a smaller "
                            + "file or a larger heap", file, ik, ih.shapeString(), floatBytes >> 20,
                    Runtime.getRuntime().maxMemory() >> 20));
        }
        Map<String, INDArray> arrays = NpyFiles.readNpz(file);
        INDArray images = arrays.get(ik);
        INDArray lab = arrays.get(lk);
        int n = (int) images.size(0);
        if (lab.length() != n || (lab.rank() == 2 && lab.size(1) != 1) || lab.rank() > 2) {
            throw new ResNeXtException(file + ": " + lk + " must hold one class index per image ([" + n
                    + "] or [" + n + ",1]), got " + java.util.Arrays.toString(lab.shape()));
        }
        int h = (int) images.size(1);
        int w = (int) images.size(2);
        int c = (int) c0;
        Scaling scaling = scaling(file, arrays);
        if (scaling.warning != null && split.equals(firstSplit(arrays))) {
            log.warn("{}", scaling.warning);
        }
        float[] px = images.castTo(DataType.FLOAT).muli(scaling.factor).data().asFloat();
        int[] labels = classIndices(file, lk, lab);
        int maxLabel = -1;
        for (int v : labels) maxLabel = Math.max(maxLabel, v);
        List<String> classes = classNames;
        if (classes == null) {
            classes = classesOfAllSplits(file, arrays);
        } else if (maxLabel >= classes.size()) {
            throw new ResNeXtException(file + ": " + lk + " has class index " + maxLabel + " but the model has only "
                    + classes.size() + " classes");
        }
        return new NpzImageSet(file, split, px, n, h, w, c, labels, List.copyOf(classes), scaling.bits);
    }

    /** How the image values of a file are turned into intensities in [0,1]. */
    private record Scaling(double factor, int bits, String warning) {
    }

    private static String firstSplit(Map<String, INDArray> arrays) {
        for (String k : arrays.keySet()) {
            if (k.endsWith("_images")) return k.substring(0, k.length() - "_images".length());
        }
        return "";
    }

    /** One decision for all {@code *_images} arrays of the file, so that every split is scaled alike. */
    private static Scaling scaling(Path file, Map<String, INDArray> arrays) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        boolean floating = false;
        boolean bool = true;
        for (Map.Entry<String, INDArray> e : arrays.entrySet()) {
            if (!e.getKey().endsWith("_images") || e.getValue().length() == 0) continue;
            INDArray a = e.getValue();
            floating |= a.dataType().isFPType();
            bool &= a.dataType() == DataType.BOOL;
            INDArray f = a.dataType().isFPType() ? a : a.castTo(DataType.DOUBLE);
            if (a.dataType().isFPType()) {
                long bad = org.nd4j.linalg.factory.Nd4j.getExecutioner().exec(
                        new org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition(f,
                                org.nd4j.linalg.indexing.conditions.Conditions.isNan())).getLong(0)
                        + org.nd4j.linalg.factory.Nd4j.getExecutioner().exec(
                        new org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition(f,
                                org.nd4j.linalg.indexing.conditions.Conditions.isInfinite())).getLong(0);
                if (bad > 0) {
                    throw new ResNeXtException(file + ": " + e.getKey() + " has " + bad
                            + " NaN or infinite values; images must be finite intensities");
                }
            }
            min = Math.min(min, f.minNumber().doubleValue());
            max = Math.max(max, f.maxNumber().doubleValue());
        }
        if (min < 0) {
            throw new ResNeXtException(String.format(java.util.Locale.ROOT,
                    "%s: image values go down to %s; expected intensities in [0,1] (float) or 0..255 / 0..65535 "
                            + "(integers), not negative values (standardised images cannot be used as they are)",
                    file, num(min)));
        }
        if (bool) {
            return new Scaling(1.0, 8, null);
        }
        if (!floating) {
            if (max <= 255) return new Scaling(1.0 / 255, 8, null);
            if (max <= 65535) return new Scaling(1.0 / 65535, 16, null);
            throw new ResNeXtException(file + ": integer image values go up to " + num(max)
                    + "; 8-bit (0..255) and 16-bit (0..65535) images are supported");
        }
        if (max <= 1) {
            return new Scaling(1.0, 8, null);
        }
        if (max <= 255) {
            return new Scaling(1.0 / 255, 8, file + ": images are stored as float with values up to " + num(max)
                    + "; reading them as 8-bit intensities (0..255, scaled by 1/255)");
        }
        throw new ResNeXtException(file + ": float image values go up to " + num(max)
                + "; expected intensities in [0,1], or 8-bit values 0..255 stored as float");
    }

    /** Labels as class indices: whole, finite and not negative, whatever their stored type. */
    private static int[] classIndices(Path file, String key, INDArray lab) {
        double[] v = lab.castTo(DataType.DOUBLE).data().asDouble();
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
    private static List<String> classesOfAllSplits(Path file, Map<String, INDArray> arrays) {
        java.util.TreeSet<Integer> used = new java.util.TreeSet<>();
        for (Map.Entry<String, INDArray> e : arrays.entrySet()) {
            if (e.getKey().endsWith("_labels") && e.getValue().length() > 0) {
                for (int v : classIndices(file, e.getKey(), e.getValue())) used.add(v);
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

    @Override
    public DecodedImage decode(int i) {
        int len = h * w * c;
        float[] px = new float[len];
        System.arraycopy(pixels, i * len, px, 0, len);
        return new DecodedImage(px, h, w, c, bitDepth);
    }
}
