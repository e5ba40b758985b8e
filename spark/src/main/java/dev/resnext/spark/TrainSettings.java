package dev.resnext.spark;

import dev.resnext.InvalidSettingException;
import dev.resnext.model.InputShape;
import dev.resnext.transfer.FreezePolicy;

import java.nio.file.Path;

/**
 * What a Spark training or fine-tuning job does.
 *
 * @param data          image folder, one sub-folder per class, on any file system Spark reads
 * @param out           the model zip written at the end (the best epoch), on the driver
 * @param checkpointDir where the per-epoch checkpoint and the best model so far are kept (driver)
 * @param resume        continue from the checkpoint in {@code checkpointDir}
 * @param preset        model preset when training from scratch
 * @param from          the zip to fine-tune, or null to train from scratch
 * @param freeze        what keeps its weights when fine-tuning
 * @param input         input shape, or null for the preset's / parent's size with the data's channels
 * @param epochs        epochs
 * @param batch         minibatch per worker
 * @param workers       partitions of the training data (one task each per epoch round)
 * @param averaging     minibatches between parameter averaging rounds
 * @param lr            learning rate, or null for the configuration's
 * @param seed          seed, or null for the configuration's
 * @param valFraction   fraction held out for validation (a seeded hash of the path below the root)
 */
record TrainSettings(String data, Path out, Path checkpointDir, boolean resume, String preset, Path from,
                     FreezePolicy freeze, InputShape input, int epochs, int batch, int workers, int averaging,
                     Double lr, Long seed, double valFraction) {
    TrainSettings {
        if (epochs < 1) throw new InvalidSettingException("epochs", "must be at least 1, was " + epochs);
        if (batch < 1) throw new InvalidSettingException("batch", "must be at least 1, was " + batch);
        if (workers < 1) throw new InvalidSettingException("workers", "must be at least 1, was " + workers);
        if (averaging < 1) {
            throw new InvalidSettingException("averaging-frequency", "must be at least 1, was " + averaging);
        }
        if (!(valFraction >= 0 && valFraction < 1)) {
            throw new InvalidSettingException("val-fraction", "must be in [0, 1), was " + valFraction);
        }
        if (lr != null && !(lr > 0)) throw new InvalidSettingException("lr", "must be positive, was " + lr);
    }
}
