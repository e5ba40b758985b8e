package dev.resnext.transfer;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Adapts the first convolution's weights {@code [out, in, kh, kw]} to another number of input
 * channels without copying image channels at run time.
 *
 * <p>RGB to grayscale sums the weights over the colour axis: a convolution is linear in its input,
 * so {@code conv(sum_c W_c, g) = conv(W, [g, g, g])} and a grayscale image gives exactly the output
 * the RGB network gives for that image repeated three times. Grayscale to RGB spreads the weight
 * evenly, {@code W_c = W / C}, which gives the same output for a gray RGB image as the original
 * network for the gray image.
 */
public final class StemAdapter {
    private StemAdapter() {
    }

    /** Weights for {@code newChannels} input channels derived from {@code w}. */
    public static INDArray adapt(INDArray w, int newChannels) {
        long in = w.size(1);
        if (in == newChannels) {
            return w.dup();
        }
        if (newChannels == 1) {
            return w.sum(true, 1);
        }
        if (in == 1) {
            INDArray out = w.repeat(1, newChannels).divi(newChannels);
            return out.reshape(w.size(0), newChannels, w.size(2), w.size(3));
        }
        throw new IllegalArgumentException("cannot adapt a stem with " + in + " input channels to " + newChannels
                + " (supported: RGB <-> grayscale)");
    }
}
