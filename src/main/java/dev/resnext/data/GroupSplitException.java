package dev.resnext.data;

import dev.resnext.ResNeXtException;

/** The groups (patients) of a set cannot be split as asked, e.g. more folds than a class has groups. */
public final class GroupSplitException extends ResNeXtException {
    private final int folds;
    private final int groups;

    public GroupSplitException(String message, int folds, int groups) {
        super(message);
        this.folds = folds;
        this.groups = groups;
    }

    /** Folds (or bins) asked for. */
    public int folds() {
        return folds;
    }

    /** Groups of the class that has too few, or 0 when not about one class. */
    public int groups() {
        return groups;
    }
}
