package dev.resnext.model;

/**
 * The network's stem: the layers before the first bottleneck stage.
 */
public enum StemKind {
    /** ImageNet stem (torchvision): 7x7/2 conv, BN, ReLU, 3x3/2 max pool (input shrinks 4x). */
    IMAGENET,
    /** CIFAR stem (Xie et al. 2017, ResNeXt-29): 3x3/1 conv, BN, ReLU, no pooling. */
    CIFAR;
}
