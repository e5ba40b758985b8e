package dev.resnext.train;

import dev.resnext.data.Augmentation;

import java.nio.file.Path;

/**
 * Everything a training run needs besides the model configuration and the data.
 *
 * @param epochs            maximum number of epochs
 * @param batchSize         images per step
 * @param schedule          learning-rate schedule after the warm-up
 * @param warmupEpochs      epochs of linear learning-rate warm-up
 * @param stepEpochs        step schedule period in epochs
 * @param stepGamma         step schedule factor
 * @param classWeights      "none", "auto" (inverse class frequency) or comma-separated weights
 * @param augmentation      training-time augmentation
 * @param out               best model zip
 * @param checkpointDir     folder of the per-epoch checkpoint, metrics and plots
 * @param resume            continue from the checkpoint in {@code checkpointDir}
 * @param monitor           validation metric for model selection and early stopping: val_loss,
 *                          val_accuracy or val_auc
 * @param patience          epochs without improvement before stopping (0: never stop early)
 * @param stopAfterEpochs   stop (as if killed) after this many epochs of this invocation; for tests
 * @param balancedSampler   draw every class equally often each epoch (with replacement) instead of
 *                          shuffling the training set
 * @param workers           data-parallel replicas (1: plain training on this thread; more: DL4J's
 *                          ParallelWrapper with one replica per worker, one per device on CUDA)
 */
public record TrainingOptions(int epochs, int batchSize, LearningRateSchedule.Kind schedule, double warmupEpochs,
                              int stepEpochs, double stepGamma, String classWeights, Augmentation augmentation,
                              Path out, Path checkpointDir, boolean resume, String monitor, int patience,
                              int stopAfterEpochs, boolean balancedSampler, int workers) {

    public TrainingOptions {
        if (epochs < 1) throw new dev.resnext.InvalidSettingException("epochs", "must be at least 1, was " + epochs);
        if (batchSize < 1) throw new dev.resnext.InvalidSettingException("batch", "must be at least 1, was " + batchSize);
        // NaN compares false with everything: "NaN < 0" let a NaN warm-up through, which trained at rate 0
        if (!(warmupEpochs >= 0) || Double.isInfinite(warmupEpochs)) {
            throw new dev.resnext.InvalidSettingException("warmup-epochs", "must be zero or a positive number, was " + warmupEpochs);
        }
        if (stepEpochs < 1) throw new dev.resnext.InvalidSettingException("step-epochs", "must be at least 1");
        if (!(stepGamma > 0 && stepGamma <= 1)) throw new dev.resnext.InvalidSettingException("step-gamma", "must be in (0, 1]");
        if (patience < 0) throw new dev.resnext.InvalidSettingException("patience", "must not be negative");
        if (!monitor.equals("val_loss") && !monitor.equals("val_accuracy") && !monitor.equals("val_auc")) {
            throw new dev.resnext.InvalidSettingException("monitor", "must be val_loss, val_accuracy or val_auc, was " + monitor);
        }
        if (workers < 1) throw new dev.resnext.InvalidSettingException("workers", "must be at least 1, was " + workers);
    }

    /** Single-worker options (the form used before data-parallel training existed). */
    public TrainingOptions(int epochs, int batchSize, LearningRateSchedule.Kind schedule, double warmupEpochs,
                           int stepEpochs, double stepGamma, String classWeights, Augmentation augmentation,
                           Path out, Path checkpointDir, boolean resume, String monitor, int patience,
                           int stopAfterEpochs, boolean balancedSampler) {
        this(epochs, batchSize, schedule, warmupEpochs, stepEpochs, stepGamma, classWeights, augmentation, out,
                checkpointDir, resume, monitor, patience, stopAfterEpochs, balancedSampler, 1);
    }

    /**
     * Optimizer steps per epoch for {@code batches} mini-batches: with N workers, ParallelWrapper
     * hands N batches per round to the N replicas (one each) and averages them, so every replica,
     * and the learning-rate schedule it carries, advances by one step per round.
     */
    public int stepsPerEpoch(int batches) {
        return (batches + workers - 1) / workers;
    }

    /** The same options with another output, checkpoint folder, epoch count and warm-up. */
    public TrainingOptions withPhase(Path newOut, Path newCheckpointDir, int newEpochs, double newWarmup) {
        return new TrainingOptions(newEpochs, batchSize, schedule, newWarmup, stepEpochs, stepGamma, classWeights,
                augmentation, newOut, newCheckpointDir, resume, monitor, patience, stopAfterEpochs, balancedSampler,
                workers);
    }

    /** The same options with another number of workers. */
    public TrainingOptions withWorkers(int n) {
        return new TrainingOptions(epochs, batchSize, schedule, warmupEpochs, stepEpochs, stepGamma, classWeights,
                augmentation, out, checkpointDir, resume, monitor, patience, stopAfterEpochs, balancedSampler, n);
    }

    /** Whether a larger value of the monitored metric is better. */
    public boolean monitorMaximises() {
        return !monitor.equals("val_loss");
    }
}
