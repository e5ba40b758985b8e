package dev.resnext.data;

import dev.resnext.model.InputShape;

/**
 * Pixel operations that turn a decoded image into network input: channel conversion and resizing.
 * Output is planar {@code [channels][height][width]} (NCHW without the batch axis).
 */
public final class ImageOps {
    private ImageOps() {
    }

    /**
     * Converts to {@code shape}: grayscale to RGB by repeating the channel, RGB to grayscale with
     * ITU-R BT.601 luma weights, then bilinear resizing with half-pixel centres (PyTorch's
     * {@code align_corners=False}).
     */
    public static float[] toInput(DecodedImage img, InputShape shape) {
        float[] chw = toPlanar(img);
        int c = img.channels();
        if (c != shape.channels()) {
            chw = convertChannels(chw, c, shape.channels(), img.height() * img.width());
            c = shape.channels();
        }
        if (img.height() != shape.height() || img.width() != shape.width()) {
            chw = resize(chw, c, img.height(), img.width(), shape.height(), shape.width());
        }
        return chw;
    }

    static float[] toPlanar(DecodedImage img) {
        int hw = img.height() * img.width();
        int c = img.channels();
        float[] px = img.pixels();
        if (c == 1) {
            return px.clone();
        }
        float[] out = new float[px.length];
        for (int i = 0; i < hw; i++) {
            for (int k = 0; k < c; k++) {
                out[k * hw + i] = px[i * c + k];
            }
        }
        return out;
    }

    static float[] convertChannels(float[] chw, int from, int to, int hw) {
        float[] out = new float[to * hw];
        if (from == 1) {
            for (int k = 0; k < to; k++) {
                System.arraycopy(chw, 0, out, k * hw, hw);
            }
        } else if (from == 3 && to == 1) {
            for (int i = 0; i < hw; i++) {
                out[i] = 0.299f * chw[i] + 0.587f * chw[hw + i] + 0.114f * chw[2 * hw + i];
            }
        } else {
            throw new IllegalArgumentException("cannot convert " + from + " channels to " + to);
        }
        return out;
    }

    /** Bilinear resize of a planar image (half-pixel centres, edge clamping). */
    public static float[] resize(float[] chw, int c, int h, int w, int oh, int ow) {
        float[] out = new float[c * oh * ow];
        float sy = (float) h / oh;
        float sx = (float) w / ow;
        int[] x0 = new int[ow];
        int[] x1 = new int[ow];
        float[] fx = new float[ow];
        for (int x = 0; x < ow; x++) {
            float src = Math.max(0f, (x + 0.5f) * sx - 0.5f);
            x0[x] = Math.min((int) src, w - 1);
            x1[x] = Math.min(x0[x] + 1, w - 1);
            fx[x] = src - x0[x];
        }
        for (int k = 0; k < c; k++) {
            int base = k * h * w;
            int obase = k * oh * ow;
            for (int y = 0; y < oh; y++) {
                float src = Math.max(0f, (y + 0.5f) * sy - 0.5f);
                int y0 = Math.min((int) src, h - 1);
                int y1 = Math.min(y0 + 1, h - 1);
                float fy = src - y0;
                for (int x = 0; x < ow; x++) {
                    float a = chw[base + y0 * w + x0[x]];
                    float b = chw[base + y0 * w + x1[x]];
                    float cc = chw[base + y1 * w + x0[x]];
                    float d = chw[base + y1 * w + x1[x]];
                    float top = a + (b - a) * fx[x];
                    float bottom = cc + (d - cc) * fx[x];
                    out[obase + y * ow + x] = top + (bottom - top) * fy;
                }
            }
        }
        return out;
    }
}
