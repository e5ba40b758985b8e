package dev.resnext.model;

import java.util.Locale;

/**
 * The deterministic, hierarchical vertex names of a ResNeXt graph. Transfer learning, weight import
 * and saved zips address layers by these names, so they are part of the file format.
 *
 * <pre>
 * input
 * stem.conv, stem.bn, stem.relu, stem.pool (ImageNet stem only)
 * stage1.block0.conv1, .bn1, .relu1                 1x1 reduction
 * stage1.block0.group00.split, .group00.conv3x3      one split vertex and 3x3 branch per group
 * stage1.block0.merge, .bn2, .relu2                  channel concat of the branches
 * stage1.block0.conv3, .bn3                          1x1 expansion
 * stage1.block0.downsample.conv, .downsample.bn      projection shortcut where the shape changes
 * stage1.block0.add, stage1.block0.out               residual sum and ReLU (block output)
 * head.pool, head.fc, head.loss                      global average pool, logits, loss/activation
 * </pre>
 * Stages count from 1 and blocks from 0, as torchvision's {@code layer1.0}.
 */
public final class VertexNames {
    public static final String INPUT = "input";
    public static final String STEM_CONV = "stem.conv";
    public static final String STEM_BN = "stem.bn";
    public static final String STEM_RELU = "stem.relu";
    public static final String STEM_POOL = "stem.pool";
    public static final String HEAD_POOL = "head.pool";
    public static final String HEAD_FC = "head.fc";
    public static final String HEAD_LOSS = "head.loss";

    private VertexNames() {
    }

    /** Prefix of block {@code block} (0-based) in stage {@code stage} (1-based): {@code stage2.block0}. */
    public static String block(int stage, int block) {
        return "stage" + stage + ".block" + block;
    }

    /** Prefix of cardinality group {@code g} of a block: {@code stage2.block0.group07}. */
    public static String group(String blockPrefix, int g, int cardinality) {
        int digits = Math.max(2, Integer.toString(cardinality - 1).length());
        return blockPrefix + ".group" + String.format(Locale.ROOT, "%0" + digits + "d", g);
    }

    /** Output vertex of the stem. */
    public static String stemOutput(StemKind stem) {
        return stem == StemKind.IMAGENET ? STEM_POOL : STEM_RELU;
    }

    /** Output vertex of a block. */
    public static String blockOutput(int stage, int block) {
        return block(stage, block) + ".out";
    }

    /** Output vertex of stage {@code stage} (1-based) of the given configuration. */
    public static String stageOutput(ResNeXtConfig config, int stage) {
        return blockOutput(stage, config.getStageDepths()[stage - 1] - 1);
    }
}
