package dev.resnext.export;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Rewrites of an {@link OnnxGraph} that keep what it computes: a block's cardinality branches as
 * one grouped convolution, batch normalisation folded into the convolution before it, and the
 * input standardisation in front of the graph.
 */
final class GraphPasses {

    private GraphPasses() {
    }

    /**
     * Replaces every Slice -> Conv (x groups) -> Concat pattern whose slices cut the source's channels
     * into equal consecutive parts by one Conv with {@code group}; its weights are the branches'
     * stacked along the output channels (torchvision's layout of a grouped weight). A Slice that
     * passes all channels on (cardinality 1) is removed.
     */
    static void groupBranches(OnnxGraph g) {
        for (OnnxGraph.Node concat : new ArrayList<>(g.nodes)) {
            if (concat.op.equals("Concat") && concat.intAttr("axis", 0) == 1) {
                groupOne(g, concat);
            }
        }
        for (OnnxGraph.Node slice : new ArrayList<>(g.nodes)) {
            if (slice.op.equals("Slice") && coversAll(g, slice)) {
                g.nodes.remove(slice);
                g.rewire(slice.output(), slice.inputs.get(0));
            }
        }
    }

    private static void groupOne(OnnxGraph g, OnnxGraph.Node concat) {
        List<OnnxGraph.Node> convs = new ArrayList<>();
        List<OnnxGraph.Node> slices = new ArrayList<>();
        String source = null;
        long next = 0;
        for (String in : concat.inputs) {
            OnnxGraph.Node conv = g.producer(in);
            if (conv == null || !conv.op.equals("Conv") || conv.intAttr("group", 1) != 1 || g.consumers(in).size() != 1) {
                return;
            }
            OnnxGraph.Node slice = g.producer(conv.inputs.get(0));
            if (slice == null || !slice.op.equals("Slice") || g.consumers(slice.output()).size() != 1) {
                return;
            }
            long[] start = g.constants.get(slice.inputs.get(1)).longs;
            long[] end = g.constants.get(slice.inputs.get(2)).longs;
            long[] axes = g.constants.get(slice.inputs.get(3)).longs;
            if (axes.length != 1 || axes[0] != 1 || start[0] != next || (source != null
                    && !source.equals(slice.inputs.get(0)))) {
                return;
            }
            source = slice.inputs.get(0);
            next = end[0];
            if (!convs.isEmpty() && !sameConv(g, convs.get(0), conv)) {
                return;
            }
            convs.add(conv);
            slices.add(slice);
        }
        Long sourceChannels = g.channels.get(source);
        long width = next / convs.size();
        if (convs.size() < 2 || sourceChannels == null || next != sourceChannels || width * convs.size() != next) {
            return;
        }
        for (OnnxGraph.Node s : slices) {
            long[] start = g.constants.get(s.inputs.get(1)).longs;
            long[] end = g.constants.get(s.inputs.get(2)).longs;
            if (end[0] - start[0] != width) {
                return;
            }
        }
        OnnxGraph.Node first = convs.get(0);
        String blockName = concat.name.endsWith(".merge")
                ? concat.name.substring(0, concat.name.length() - ".merge".length()) + ".conv2" : concat.name + ".conv";
        List<String> inputs = new ArrayList<>(List.of(source, stack(g, blockName + ".W", convs, 1)));
        if (first.inputs.size() > 2) {
            inputs.add(stack(g, blockName + ".b", convs, 2));
        }
        OnnxGraph.Node grouped = new OnnxGraph.Node("Conv", blockName, inputs, concat.outputs);
        grouped.attrs.putAll(first.attrs);
        grouped.attr("group", (long) convs.size());
        int at = g.nodes.indexOf(concat);
        g.nodes.set(at, grouped);
        g.nodes.removeAll(convs);
        g.nodes.removeAll(slices);
    }

    private static boolean sameConv(OnnxGraph g, OnnxGraph.Node a, OnnxGraph.Node b) {
        for (String k : List.of("kernel_shape", "strides", "pads", "dilations")) {
            if (!Arrays.equals(a.ints(k), b.ints(k))) {
                return false;
            }
        }
        return a.inputs.size() == b.inputs.size()
                && Arrays.equals(g.constants.get(a.inputs.get(1)).dims, g.constants.get(b.inputs.get(1)).dims);
    }

    /** The constants at input {@code index} of each node, concatenated along their first axis. */
    private static String stack(OnnxGraph g, String name, List<OnnxGraph.Node> nodes, int index) {
        List<OnnxGraph.Constant> parts = nodes.stream().map(n -> g.constants.get(n.inputs.get(index))).toList();
        long[] dims = parts.get(0).dims.clone();
        dims[0] *= parts.size();
        float[] all = new float[(int) parts.stream().mapToLong(OnnxGraph.Constant::count).sum()];
        int at = 0;
        for (OnnxGraph.Constant c : parts) {
            System.arraycopy(c.floats, 0, all, at, c.floats.length);
            at += c.floats.length;
        }
        return g.floats(name, all, dims);
    }

    private static boolean coversAll(OnnxGraph g, OnnxGraph.Node slice) {
        Long channels = g.channels.get(slice.inputs.get(0));
        long[] start = g.constants.get(slice.inputs.get(1)).longs;
        long[] end = g.constants.get(slice.inputs.get(2)).longs;
        long[] axes = g.constants.get(slice.inputs.get(3)).longs;
        return axes.length == 1 && axes[0] == 1 && start[0] == 0 && channels != null && end[0] == channels;
    }

    /**
     * Folds every BatchNormalization whose input is produced only for it by a Conv (or by a Concat
     * of such Convs, the branch form) into those convolutions: with s = gamma / sqrt(var + eps),
     * W' = W * s per output channel and b' = (b - mean) * s + beta. The arithmetic is in double
     * precision; each folded value is rounded to float32 once.
     */
    static void foldBatchNorm(OnnxGraph g) {
        for (OnnxGraph.Node bn : new ArrayList<>(g.nodes)) {
            if (!bn.op.equals("BatchNormalization")) {
                continue;
            }
            OnnxGraph.Node p = g.producer(bn.inputs.get(0));
            if (p == null || g.consumers(bn.inputs.get(0)).size() != 1) {
                continue;
            }
            List<OnnxGraph.Node> convs = new ArrayList<>();
            if (p.op.equals("Conv")) {
                convs.add(p);
            } else if (p.op.equals("Concat") && p.intAttr("axis", 0) == 1) {
                for (String in : p.inputs) {
                    OnnxGraph.Node c = g.producer(in);
                    if (c == null || !c.op.equals("Conv") || g.consumers(in).size() != 1) {
                        convs.clear();
                        break;
                    }
                    convs.add(c);
                }
            }
            if (convs.isEmpty()) {
                continue;
            }
            float[] gamma = g.constants.get(bn.inputs.get(1)).floats;
            float[] beta = g.constants.get(bn.inputs.get(2)).floats;
            float[] mean = g.constants.get(bn.inputs.get(3)).floats;
            float[] var = g.constants.get(bn.inputs.get(4)).floats;
            double eps = (Double) bn.attrs.get("epsilon");
            int channel = 0;
            for (OnnxGraph.Node conv : convs) {
                OnnxGraph.Constant w = g.constants.get(conv.inputs.get(1));
                int out = (int) w.dims[0];
                int per = w.floats.length / out;
                float[] folded = new float[w.floats.length];
                float[] bias = new float[out];
                float[] oldBias = conv.inputs.size() > 2 ? g.constants.get(conv.inputs.get(2)).floats : null;
                for (int o = 0; o < out; o++, channel++) {
                    double s = gamma[channel] / Math.sqrt((double) var[channel] + eps);
                    for (int i = 0; i < per; i++) {
                        folded[o * per + i] = (float) (w.floats[o * per + i] * s);
                    }
                    double b0 = oldBias == null ? 0 : oldBias[o];
                    bias[o] = (float) ((b0 - mean[channel]) * s + beta[channel]);
                }
                // new constant names: a weight is never shared, but the folded one is not the zip's weight
                String wName = conv.name + ".W.folded";
                String bName = conv.name + ".b.folded";
                g.floats(wName, folded, w.dims);
                g.floats(bName, bias, out);
                conv.inputs.set(1, wName);
                if (conv.inputs.size() > 2) {
                    conv.inputs.set(2, bName);
                } else {
                    conv.inputs.add(bName);
                }
            }
            // the producer now yields the BN's output
            g.nodes.remove(bn);
            p.outputs.set(0, bn.output());
            g.channels.put(bn.output(), g.channels.get(bn.inputs.get(0)));
        }
    }

    /**
     * Puts {@code (x - mean) / std} per channel in front of the graph: the input becomes the image
     * scaled to [0, 1]. Sub and Div rather than a folded first convolution, because the convolution
     * pads the standardised image with zeros, which folding would change at the borders.
     */
    static void prependStandardisation(OnnxGraph g, String input, double[] mean, double[] std) {
        int c = mean.length;
        float[] m = new float[c];
        float[] s = new float[c];
        for (int i = 0; i < c; i++) {
            m[i] = (float) mean[i];
            s[i] = (float) std[i];
        }
        String centred = "preprocess.centred";
        String standardised = "preprocess.standardised";
        g.rewire(input, standardised);
        g.nodes.add(0, new OnnxGraph.Node("Sub", "preprocess.sub",
                List.of(input, g.floats("preprocess.mean", m, 1, c, 1, 1)), List.of(centred)));
        g.nodes.add(1, new OnnxGraph.Node("Div", "preprocess.div",
                List.of(centred, g.floats("preprocess.std", s, 1, c, 1, 1)), List.of(standardised)));
        g.channels.put(centred, (long) c);
        g.channels.put(standardised, (long) c);
    }
}
