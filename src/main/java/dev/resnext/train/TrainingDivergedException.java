package dev.resnext.train;

import dev.resnext.ResNeXtException;

/** Training stopped because the loss became NaN or infinite; the learning rate or the data need a look. */
public class TrainingDivergedException extends ResNeXtException {
    private static final long serialVersionUID = 1L;

    public TrainingDivergedException(String message) {
        super(message);
    }
}
