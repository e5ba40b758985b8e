package dev.resnext.eval;

import dev.resnext.ResNeXtException;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Test-time augmentation: the views of a prepared batch whose probabilities are averaged. The
 * identity view is always first; {@code flip} adds the horizontal mirror image, {@code shift} four
 * translations by about 1/14 of the width (2 pixels at 28x28), edges repeated, as the training
 * augmentation's shifts.
 *
 * @param flip  add the mirror image
 * @param shift add the four shifted views
 */
public record TestTimeAugmentation(boolean flip, boolean shift) {
    /** No augmentation: the identity view alone. */
    public static final TestTimeAugmentation NONE = new TestTimeAugmentation(false, false);

    /** Parses {@code none} or a comma list of {@code flip}, {@code shift}. */
    public static TestTimeAugmentation parse(String spec) {
        if (spec == null || spec.isBlank() || spec.trim().equalsIgnoreCase("none")) {
            return NONE;
        }
        boolean flip = false;
        boolean shift = false;
        for (String part : spec.toLowerCase(Locale.ROOT).split(",")) {
            switch (part.trim()) {
                case "flip" -> flip = true;
                case "shift" -> shift = true;
                default -> throw new ResNeXtException("unknown test-time augmentation '" + part.trim()
                        + "'; use flip, shift or none");
            }
        }
        return new TestTimeAugmentation(flip, shift);
    }

    /** Number of views, identity included. */
    public int viewCount() {
        return 1 + (flip ? 1 : 0) + (shift ? 4 : 0);
    }

    /** The views of an NCHW batch (the first is {@code x} itself). */
    public List<INDArray> views(INDArray x) {
        List<INDArray> views = new ArrayList<>(viewCount());
        views.add(x);
        if (flip) {
            views.add(mirrored(x));
        }
        if (shift) {
            int d = Math.max(1, (int) Math.round(x.size(3) / 14.0));
            views.add(shifted(x, 0, d));
            views.add(shifted(x, 0, -d));
            views.add(shifted(x, d, 0));
            views.add(shifted(x, -d, 0));
        }
        return views;
    }

    /** {@code x} mirrored left-right. */
    static INDArray mirrored(INDArray x) {
        long w = x.size(3);
        INDArray out = x.dup();
        for (long c = 0; c < w; c++) {
            out.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(c))
                    .assign(x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(),
                            NDArrayIndex.point(w - 1 - c)));
        }
        return out;
    }

    /** {@code x} moved by (dy, dx) pixels, the uncovered border filled with the nearest edge pixels. */
    static INDArray shifted(INDArray x, int dy, int dx) {
        long h = x.size(2);
        long w = x.size(3);
        INDArray out = x.dup();
        // copy rows/columns so that out[y][x] = in[clamp(y - dy)][clamp(x - dx)]
        INDArray rowsMoved = out.dup();
        for (long y = 0; y < h; y++) {
            long src = Math.min(h - 1, Math.max(0, y - dy));
            rowsMoved.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(y), NDArrayIndex.all())
                    .assign(x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(src), NDArrayIndex.all()));
        }
        for (long c = 0; c < w; c++) {
            long src = Math.min(w - 1, Math.max(0, c - dx));
            out.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(c))
                    .assign(rowsMoved.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(),
                            NDArrayIndex.point(src)));
        }
        return out;
    }

    @Override
    public String toString() {
        if (!flip && !shift) return "none";
        return flip && shift ? "flip,shift" : flip ? "flip" : "shift";
    }
}
