package dev.resnext.train;

import dev.resnext.data.ImageSet;

import java.util.List;
import java.util.Map;

/**
 * The images of a run: training set, validation set, class names, and a description of where
 * they came from (files, split seed and fraction) that is recorded with the model.
 */
public record TrainingData(ImageSet train, ImageSet val, List<String> labels, Map<String, Object> description) {
    /** The data of a run from its chosen partition; the labels are the training set's class names. */
    public static TrainingData of(dev.resnext.data.Splits.Partition p) {
        return new TrainingData(p.train(), p.val(), p.train().classNames(), p.description());
    }

    public TrainingData {
        if (train.size() == 0) {
            throw new dev.resnext.ResNeXtException("the training set is empty: " + train.name());
        }
        if (val.size() == 0) {
            throw new dev.resnext.ResNeXtException("the validation set is empty: " + val.name());
        }
        long present = java.util.Arrays.stream(train.classCounts()).filter(c -> c > 0).count();
        if (!train.multiLabel() && present < 2) {
            throw new dev.resnext.ResNeXtException("the training set " + train.name()
                    + " has only one class; a classifier needs at least two");
        }
    }
}
