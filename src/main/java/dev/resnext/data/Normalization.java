package dev.resnext.data;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Random;

/**
 * Per-channel standardisation fitted on training images only: {@code (x - mean_c) / std_c} on
 * pixel values already scaled to [0, 1]. Stored in model zips as a DL4J
 * {@link NormalizerStandardize}, which broadcasts these statistics over axis 1 (channels) of NCHW
 * batches.
 */
public final class Normalization {
    private Normalization() {
    }

    /**
     * Fits channel statistics on up to {@code maxImages} images of {@code images} (a seeded random
     * sample when there are more), without augmentation.
     */
    public static NormalizerStandardize fit(PreparedImages images, int[] indices, int maxImages, long seed) {
        int c = images.shape().channels();
        int[] pick = indices;
        if (indices.length > maxImages) {
            int[] copy = indices.clone();
            Random rng = new Random(seed);
            for (int i = 0; i < maxImages; i++) {
                int j = i + rng.nextInt(copy.length - i);
                int t = copy[i];
                copy[i] = copy[j];
                copy[j] = t;
            }
            pick = java.util.Arrays.copyOf(copy, maxImages);
        }
        double[] sum = new double[c];
        double[] sumSq = new double[c];
        long count = 0;
        int hw = images.shape().height() * images.shape().width();
        for (int idx : pick) {
            float[] px = images.get(idx);
            for (int k = 0; k < c; k++) {
                for (int i = 0; i < hw; i++) {
                    double v = px[k * hw + i];
                    sum[k] += v;
                    sumSq[k] += v * v;
                }
            }
            count += hw;
        }
        float[] mean = new float[c];
        float[] std = new float[c];
        for (int k = 0; k < c; k++) {
            double m = sum[k] / count;
            double var = Math.max(0, sumSq[k] / count - m * m);
            mean[k] = (float) m;
            std[k] = (float) Math.max(Math.sqrt(var), 1e-3); // a constant channel must not divide by zero
        }
        return of(mean, std);
    }

    /** A standardiser with the given per-channel statistics. */
    public static NormalizerStandardize of(float[] mean, float[] std) {
        return new NormalizerStandardize(Nd4j.createFromArray(mean).castTo(DataType.FLOAT),
                Nd4j.createFromArray(std).castTo(DataType.FLOAT));
    }
}
