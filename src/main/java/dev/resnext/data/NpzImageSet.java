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
 * {@code [N,H,W,C]}, uint8 or float in [0,1]) and {@code <split>_labels} ({@code [N]} or {@code [N,1]}
 * class indices). An npz carries no class names, so classes are named by index unless names are
 * given (for example a model's labels).
 */
public final class NpzImageSet implements ImageSet {
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
     * Loads {@code split} of {@code file}.
     *
     * @param classNames class names to use (e.g. a model's labels), or null for "0".."K-1" with K
     *                   taken from the largest label found in any split of the file
     */
    public static NpzImageSet load(Path file, String split, List<String> classNames) {
        if (!Files.isRegularFile(file)) {
            throw new ResNeXtException("data file not found: " + file);
        }
        Map<String, INDArray> arrays = NpyFiles.readNpz(file);
        String ik = split + "_images";
        String lk = split + "_labels";
        if (!arrays.containsKey(ik) || !arrays.containsKey(lk)) {
            List<String> splits = new ArrayList<>();
            for (String k : arrays.keySet()) {
                if (k.endsWith("_images")) splits.add(k.substring(0, k.length() - "_images".length()));
            }
            throw new ResNeXtException(file + " has no '" + ik + "' and '" + lk + "' arrays"
                    + (splits.isEmpty() ? " (expected MedMNIST layout: <split>_images, <split>_labels)"
                    : "; splits present: " + String.join(", ", splits)));
        }
        INDArray images = arrays.get(ik);
        INDArray lab = arrays.get(lk);
        if (images.rank() != 3 && images.rank() != 4) {
            throw new ResNeXtException(file + ": " + ik + " must be [N,H,W] or [N,H,W,C], got "
                    + java.util.Arrays.toString(images.shape()));
        }
        int n = (int) images.size(0);
        if (lab.length() != n || (lab.rank() == 2 && lab.size(1) != 1) || lab.rank() > 2) {
            throw new ResNeXtException(file + ": " + lk + " must hold one class index per image ([" + n
                    + "] or [" + n + ",1]), got " + java.util.Arrays.toString(lab.shape()));
        }
        int h = (int) images.size(1);
        int w = (int) images.size(2);
        int c = images.rank() == 4 ? (int) images.size(3) : 1;
        if (c != 1 && c != 3) {
            throw new ResNeXtException(file + ": " + ik + " has " + c + " channels; 1 or 3 are supported");
        }
        boolean integer = !images.dataType().isFPType();
        double max = images.maxNumber().doubleValue();
        int bits = integer ? (max > 255 ? 16 : 8) : 8;
        double scale = integer ? 1.0 / ((1 << bits) - 1) : 1.0;
        float[] px = images.castTo(DataType.FLOAT).muli(scale).data().asFloat();
        int[] labels = lab.castTo(DataType.INT).data().asInt();
        int maxLabel = 0;
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0) {
                throw new ResNeXtException(file + ": " + lk + " has a negative class index at position " + i);
            }
            maxLabel = Math.max(maxLabel, labels[i]);
        }
        List<String> classes = classNames;
        if (classes == null) {
            for (Map.Entry<String, INDArray> e : arrays.entrySet()) {
                if (e.getKey().endsWith("_labels") && e.getValue().length() > 0) {
                    maxLabel = Math.max(maxLabel, e.getValue().maxNumber().intValue());
                }
            }
            classes = new ArrayList<>();
            for (int k = 0; k <= maxLabel; k++) classes.add(Integer.toString(k));
        } else if (maxLabel >= classes.size()) {
            throw new ResNeXtException(file + ": " + lk + " has class index " + maxLabel + " but the model has only "
                    + classes.size() + " classes");
        }
        return new NpzImageSet(file, split, px, n, h, w, c, labels, List.copyOf(classes), bits);
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
