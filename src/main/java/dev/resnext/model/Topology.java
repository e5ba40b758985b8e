package dev.resnext.model;

import java.util.ArrayList;
import java.util.List;

/**
 * The layers of a ResNeXt as data: the stem, every bottleneck block (stage, index, channels,
 * groups, stride and the names of its vertices) and the head. {@link ResNeXtGraphFactory} emits its
 * vertices from this description, and the torchvision importer and exporter map state-dict keys
 * onto it, so that the rules of the topology (which stride a stage uses, where a block projects its
 * shortcut, how wide a group is, what a vertex is called) are written once.
 *
 * @param stem   the stem
 * @param blocks every bottleneck block, in graph order
 * @param head   the classifier head
 */
public record Topology(Stem stem, List<Block> blocks, Head head) {

    /** Kernel size of the grouped (per-branch) convolutions. */
    public static final int GROUP_KERNEL = 3;

    public Topology {
        blocks = List.copyOf(blocks);
    }

    /** The topology of {@code config}. */
    public static Topology of(ResNeXtConfig config) {
        boolean imagenet = config.getStem() == StemKind.IMAGENET;
        // ImageNet stem: 7x7/2 convolution and a 3x3/2 max pool; small inputs: one 3x3/1 convolution
        Stem stem = new Stem(config.getStem(), config.getInputChannels(), config.getStemWidth(),
                imagenet ? 7 : 3, imagenet ? 2 : 1, imagenet ? 3 : 1);
        List<Block> blocks = new ArrayList<>();
        int in = stem.width();
        for (int s = 0; s < config.numStages(); s++) {
            for (int b = 0; b < config.getStageDepths()[s]; b++) {
                int stride = b == 0 ? config.stageStride(s) : 1;
                blocks.add(new Block(s + 1, b, in, config.bottleneckWidth(s), config.getCardinality(),
                        config.groupWidth(s), config.stageOutChannels(s), stride));
                in = config.stageOutChannels(s);
            }
        }
        return new Topology(stem, blocks, new Head(in, config.getNumClasses()));
    }

    /**
     * The stem: a convolution, BN and ReLU, and for the ImageNet stem a max pool.
     *
     * @param kind       which stem
     * @param inChannels image channels
     * @param width      output channels
     * @param kernel     convolution kernel size (square)
     * @param stride     convolution stride
     * @param padding    convolution padding (symmetric)
     */
    public record Stem(StemKind kind, int inChannels, int width, int kernel, int stride, int padding) {
        public String conv() { return VertexNames.STEM_CONV; }
        public String bn() { return VertexNames.STEM_BN; }
        public String relu() { return VertexNames.STEM_RELU; }
        public String pool() { return VertexNames.STEM_POOL; }
        public boolean pools() { return kind == StemKind.IMAGENET; }
        /** The stem's output vertex. */
        public String output() { return VertexNames.stemOutput(kind); }
    }

    /**
     * One bottleneck block (torchvision's {@code Bottleneck} with groups = cardinality).
     *
     * @param stage       1-based stage (torchvision's {@code layerS})
     * @param index       0-based block inside the stage
     * @param inChannels  channels coming in
     * @param width       channels of the reduced (grouped) part: groups * groupWidth
     * @param groups      cardinality
     * @param groupWidth  channels of one group
     * @param outChannels channels going out
     * @param stride      stride of the 3x3 convolutions and of the projection shortcut
     */
    public record Block(int stage, int index, int inChannels, int width, int groups, int groupWidth,
                        int outChannels, int stride) {
        /** {@code stageS.blockB}. */
        public String prefix() { return VertexNames.block(stage, index); }
        /** Whether the shortcut is a projection (1x1 convolution and BN): where the shape changes. */
        public boolean projects() { return stride != 1 || inChannels != outChannels; }
        public String conv1() { return prefix() + ".conv1"; }
        public String bn1() { return prefix() + ".bn1"; }
        public String relu1() { return prefix() + ".relu1"; }
        /** Prefix of group {@code k}: {@code stageS.blockB.groupKK}. */
        public String group(int k) { return VertexNames.group(prefix(), k, groups); }
        public String split(int k) { return group(k) + ".split"; }
        public String groupConv(int k) { return group(k) + ".conv3x3"; }
        /** The 3x3 convolutions of the groups, in group order (group k owns channels k*gw..(k+1)*gw-1). */
        public List<String> groupConvs() {
            List<String> names = new ArrayList<>(groups);
            for (int k = 0; k < groups; k++) names.add(groupConv(k));
            return names;
        }
        /** The vertex that concatenates the branches; with one group there is none (the branch itself). */
        public String merged() { return groups > 1 ? prefix() + ".merge" : groupConv(0); }
        public String bn2() { return prefix() + ".bn2"; }
        public String relu2() { return prefix() + ".relu2"; }
        public String conv3() { return prefix() + ".conv3"; }
        public String bn3() { return prefix() + ".bn3"; }
        public String downsampleConv() { return prefix() + ".downsample.conv"; }
        public String downsampleBn() { return prefix() + ".downsample.bn"; }
        public String add() { return prefix() + ".add"; }
        /** The block's output vertex. */
        public String output() { return VertexNames.blockOutput(stage, index); }
    }

    /**
     * Global average pooling, the classifier and its loss.
     *
     * @param inChannels features entering the classifier
     * @param classes    outputs of the classifier
     */
    public record Head(int inChannels, int classes) {
        public String pool() { return VertexNames.HEAD_POOL; }
        public String fc() { return VertexNames.HEAD_FC; }
        public String loss() { return VertexNames.HEAD_LOSS; }
    }
}
