package dev.resnext.runtime;

import dev.resnext.model.VertexNames;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The vertex names of a plain ResNeXt graph, read from its configuration: the stem, every
 * bottleneck block (its group branches in channel order) and the head, with the wiring checked:
 * the branches read consecutive channel slices of relu1 that cover it, the residual sum adds bn3
 * and the shortcut, and the graph has no other vertices. Both compiled plans start from it and
 * add their own conditions on the layers' settings (the inference plan folds batch norm into the
 * convolutions; the training plan needs plain, trainable layers). Frozen layers and vertices are
 * looked into.
 *
 * @param stem     the stem's convolution and batch norm
 * @param stemRelu the stem's ReLU
 * @param stemPool the stem's pooling layer, or null without one
 * @param blocks   the bottleneck blocks, stage by stage
 * @param headPool the global pooling
 * @param headFc   the classifier
 * @param headLoss the loss layer
 */
public record ResNeXtTopology(Unit stem, String stemRelu, String stemPool, List<Block> blocks, String headPool,
                              String headFc, String headLoss) {

    /**
     * One convolution, or a block's group branches in channel order, and the batch norm after it.
     *
     * @param convs the convolution layers
     * @param bn    the batch normalisation
     */
    public record Unit(List<String> convs, String bn) {
        /** The (first) convolution. */
        public String conv() {
            return convs.get(0);
        }
    }

    /**
     * A bottleneck block: conv1/bn1/relu1, the group branches/bn2/relu2, conv3/bn3, the shortcut
     * (identity, or a downsampling convolution and batch norm), the residual sum and its ReLU.
     *
     * @param prefix     the block's vertex-name prefix
     * @param u1         conv1 and bn1
     * @param relu1      relu1
     * @param u2         the group branches and bn2
     * @param relu2      relu2
     * @param u3         conv3 and bn3
     * @param downsample the shortcut's convolution and batch norm, or null for an identity shortcut
     * @param out        the ReLU after the residual sum
     */
    public record Block(String prefix, Unit u1, String relu1, Unit u2, String relu2, Unit u3, Unit downsample,
                        String out) {
    }

    /** Reads the topology; an IllegalStateException says why a graph is not a plain ResNeXt. */
    public static ResNeXtTopology read(ComputationGraphConfiguration conf) {
        Map<String, GraphVertex> v = conf.getVertices();
        Map<String, List<String>> in = conf.getVertexInputs();
        Unit stem = unit(v, VertexNames.STEM_CONV, VertexNames.STEM_BN);
        require(GraphPatterns.isPlainRelu(GraphPatterns.layer(v, VertexNames.STEM_RELU)),
                "the stem is not a convolution, batch norm and ReLU");
        int used = 3;
        String pool = null;
        if (GraphPatterns.layer(v, VertexNames.STEM_POOL) instanceof SubsamplingLayer) {
            pool = VertexNames.STEM_POOL;
            used++;
        }
        List<Block> blocks = new ArrayList<>();
        for (int s = 1; v.containsKey(VertexNames.block(s, 0) + ".conv1"); s++) {
            for (int b = 0; v.containsKey(VertexNames.block(s, b) + ".conv1"); b++) {
                int[] count = new int[1];
                blocks.add(block(v, in, VertexNames.block(s, b), count));
                used += count[0];
            }
        }
        require(GraphPatterns.layer(v, VertexNames.HEAD_POOL) instanceof GlobalPoolingLayer
                        && GraphPatterns.layer(v, VertexNames.HEAD_FC) instanceof DenseLayer
                        && GraphPatterns.layer(v, VertexNames.HEAD_LOSS) instanceof LossLayer,
                "the head is not global pooling, a dense layer and a loss layer");
        used += 3;
        require(used == v.size() && conf.getNetworkInputs().size() == 1,
                "the graph has vertices besides a plain ResNeXt's");
        return new ResNeXtTopology(stem, VertexNames.STEM_RELU, pool, List.copyOf(blocks), VertexNames.HEAD_POOL,
                VertexNames.HEAD_FC, VertexNames.HEAD_LOSS);
    }

    private static Block block(Map<String, GraphVertex> v, Map<String, List<String>> in, String p, int[] count) {
        Unit u1 = unit(v, p + ".conv1", p + ".bn1");
        require(GraphPatterns.isPlainRelu(GraphPatterns.layer(v, p + ".relu1")),
                p + ": conv1 and bn1 are not followed by a ReLU");
        count[0] = 3;
        // the group branches: bn2's input is their merge (or the only branch)
        List<String> bn2In = in.get(p + ".bn2");
        require(bn2In != null && bn2In.size() == 1, p + ": bn2 does not read the group branches");
        boolean merged = GraphPatterns.vertex(v, bn2In.get(0)) instanceof MergeVertex;
        List<String> branches = merged ? in.get(bn2In.get(0)) : List.of(bn2In.get(0));
        if (merged) {
            count[0]++;
        }
        long next = 0;
        for (String br : branches) {
            require(GraphPatterns.layer(v, br) instanceof ConvolutionLayer, br + " is not a convolution");
            String split = in.get(br).get(0);
            if (!(GraphPatterns.vertex(v, split) instanceof SubsetVertex sv) || sv.getFrom() != next
                    || !in.get(split).get(0).equals(p + ".relu1")) {
                throw new IllegalStateException(p + ": the group branches do not read consecutive channel slices of relu1");
            }
            next = sv.getTo() + 1;
        }
        long channels = ((ConvolutionLayer) GraphPatterns.layer(v, u1.conv())).getNOut();
        require(next == channels, p + ": the group branches do not cover relu1's channels");
        count[0] += 2 * branches.size();
        require(GraphPatterns.layer(v, p + ".bn2") instanceof BatchNormalization
                        && GraphPatterns.isPlainRelu(GraphPatterns.layer(v, p + ".relu2")),
                p + ": the group branches are not followed by batch norm and ReLU");
        Unit u2 = new Unit(List.copyOf(branches), p + ".bn2");
        count[0] += 2;
        Unit u3 = unit(v, p + ".conv3", p + ".bn3");
        count[0] += 2;
        Unit ds = null;
        if (v.containsKey(p + ".downsample.conv")) {
            ds = unit(v, p + ".downsample.conv", p + ".downsample.bn");
            count[0] += 2;
        }
        List<String> addIn = in.get(p + ".add");
        require(GraphPatterns.vertex(v, p + ".add") instanceof ElementWiseVertex ew
                        && ew.getOp() == ElementWiseVertex.Op.Add && addIn.size() == 2
                        && addIn.get(0).equals(p + ".bn3") && (ds == null || addIn.get(1).equals(ds.bn()))
                        && GraphPatterns.isPlainRelu(GraphPatterns.layer(v, p + ".out")),
                p + ": the residual sum is not bn3 plus the shortcut, followed by ReLU");
        count[0] += 2;
        return new Block(p, u1, p + ".relu1", u2, p + ".relu2", u3, ds, p + ".out");
    }

    private static Unit unit(Map<String, GraphVertex> v, String conv, String bn) {
        require(GraphPatterns.layer(v, conv) instanceof ConvolutionLayer
                        && GraphPatterns.layer(v, bn) instanceof BatchNormalization,
                conv + " and " + bn + " are not a convolution and a batch norm");
        return new Unit(List.of(conv), bn);
    }

    private static void require(boolean ok, String problem) {
        if (!ok) {
            throw new IllegalStateException(problem);
        }
    }
}
