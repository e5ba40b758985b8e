package dev.resnext.transfer;

import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.VertexNames;

import java.util.Locale;

/**
 * Which part of a pre-trained network keeps its weights while fine-tuning. Frozen layers also keep
 * their BN running statistics (DL4J runs frozen BN in inference mode).
 *
 * @param kind  what to freeze
 * @param stage for {@link Kind#UP_TO_STAGE}: the last frozen stage (1-based)
 */
public record FreezePolicy(Kind kind, int stage) {

    /** Freezing options. */
    public enum Kind {
        /** Train everything. */
        NONE,
        /** Freeze the stem (first convolution, BN, pooling). */
        STEM,
        /** Freeze the stem and stages 1..N. */
        UP_TO_STAGE,
        /** Freeze everything but the classifier head. */
        BACKBONE
    }

    public static final FreezePolicy NONE = new FreezePolicy(Kind.NONE, 0);
    public static final FreezePolicy BACKBONE = new FreezePolicy(Kind.BACKBONE, 0);

    /** Parses {@code none}, {@code stem}, {@code stage:N} (or {@code stageN}), {@code backbone}. */
    public static FreezePolicy parse(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        if (v.equals("none")) return NONE;
        if (v.equals("stem")) return new FreezePolicy(Kind.STEM, 0);
        if (v.equals("backbone") || v.equals("all-but-head")) return BACKBONE;
        if (v.startsWith("stage")) {
            String n = v.substring(5).replace(":", "").replace("=", "").trim();
            try {
                int stage = Integer.parseInt(n);
                if (stage < 1) throw new NumberFormatException();
                return new FreezePolicy(Kind.UP_TO_STAGE, stage);
            } catch (NumberFormatException e) {
                throw new dev.resnext.InvalidSettingException("freeze", "" + s + ": the stage must be a positive number, "
                        + "e.g. stage:2");
            }
        }
        throw new dev.resnext.InvalidSettingException("freeze", "must be none, stem, stage:N or backbone, was '" + s + "'");
    }

    /**
     * The last frozen vertex (DL4J's feature extractor boundary), or null for {@link Kind#NONE}.
     *
     * @throws IllegalArgumentException when the stage does not exist in {@code config}
     */
    public String boundary(ResNeXtConfig config) {
        return switch (kind) {
            case NONE -> null;
            case STEM -> VertexNames.stemOutput(config.getStem());
            case BACKBONE -> VertexNames.HEAD_POOL;
            case UP_TO_STAGE -> {
                if (stage > config.numStages()) {
                    throw new dev.resnext.InvalidSettingException("freeze", "stage:" + stage + ": the model has only "
                            + config.numStages() + " stages");
                }
                yield VertexNames.stageOutput(config, stage);
            }
        };
    }

    @Override
    public String toString() {
        return kind == Kind.UP_TO_STAGE ? "stage:" + stage : kind.name().toLowerCase(Locale.ROOT);
    }
}
