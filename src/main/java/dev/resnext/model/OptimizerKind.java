package dev.resnext.model;

/**
 * Optimizers a configuration can name. Weight decay is applied as in PyTorch: coupled (L2 in the
 * gradient) for {@link #ADAM}, decoupled for {@link #ADAMW}; for SGD both forms are equivalent.
 */
public enum OptimizerKind {
    /** Plain SGD with (heavy-ball free) learning rate only. */
    SGD,
    /** SGD with Nesterov momentum (the torchvision/ResNeXt paper recipe). */
    NESTEROV,
    /** Adam with L2 weight decay added to the gradient. */
    ADAM,
    /** Adam with decoupled weight decay (Loshchilov and Hutter). */
    ADAMW
}
