package dev.resnext.data.manifest;

import java.util.Locale;

/**
 * What an uncertain label (CheXpert's -1) means for training: masked out of the loss and the
 * metrics ({@link #IGNORE}), negative ({@link #ZEROS}, "U-Zeros") or positive ({@link #ONES}, "U-Ones").
 */
public enum UncertainPolicy {
    IGNORE, ZEROS, ONES;

    /** Parses ignore, zeros or ones. */
    public static UncertainPolicy parse(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "ignore", "mask" -> IGNORE;
            case "zeros", "zero", "u-zeros" -> ZEROS;
            case "ones", "one", "u-ones" -> ONES;
            default -> throw new IllegalArgumentException("must be ignore, zeros or ones, was '" + text + "'");
        };
    }
}
