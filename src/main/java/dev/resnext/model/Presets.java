package dev.resnext.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Named configurations, as torchvision's {@code resnext50_32x4d()} and friends.
 *
 * <p>ImageNet presets take 224x224x3 input and 1000 classes, CIFAR presets 32x32x3 and 10 classes;
 * both can be changed with {@link ResNeXtConfig#toBuilder()}.
 */
public final class Presets {

    private static final Map<String, Supplier<ResNeXtConfig>> PRESETS = new LinkedHashMap<>();

    static {
        PRESETS.put("resnext50_32x4d", Presets::resnext50_32x4d);
        PRESETS.put("resnext101_32x8d", Presets::resnext101_32x8d);
        PRESETS.put("resnext101_64x4d", Presets::resnext101_64x4d);
        PRESETS.put("resnext29_8x64d", Presets::resnext29_8x64d);
        PRESETS.put("resnext29_16x64d", Presets::resnext29_16x64d);
        PRESETS.put("resnext29_4x16d", Presets::resnext29_4x16d);
        PRESETS.put("small", Presets::small);
        PRESETS.put("tiny", Presets::tiny);
    }

    private Presets() {
    }

    /** ResNeXt-50 32x4d (Xie et al. 2017; torchvision), 25,028,904 parameters at 1000 classes. */
    public static ResNeXtConfig resnext50_32x4d() {
        return imagenet("resnext50_32x4d", new int[] {3, 4, 6, 3}, 32, 4);
    }

    /** ResNeXt-101 32x8d (torchvision), 88,791,336 parameters at 1000 classes. */
    public static ResNeXtConfig resnext101_32x8d() {
        return imagenet("resnext101_32x8d", new int[] {3, 4, 23, 3}, 32, 8);
    }

    /** ResNeXt-101 64x4d (torchvision), 83,455,272 parameters at 1000 classes. */
    public static ResNeXtConfig resnext101_64x4d() {
        return imagenet("resnext101_64x4d", new int[] {3, 4, 23, 3}, 64, 4);
    }

    /** CIFAR ResNeXt-29 8x64d (Xie et al. 2017), 34,426,698 parameters at 10 classes. */
    public static ResNeXtConfig resnext29_8x64d() {
        return cifar("resnext29_8x64d", 8, 64);
    }

    /** CIFAR ResNeXt-29 16x64d (Xie et al. 2017), 68,155,210 parameters at 10 classes. */
    public static ResNeXtConfig resnext29_16x64d() {
        return cifar("resnext29_16x64d", 16, 64);
    }

    /** CIFAR ResNeXt-29 4x16d: the small CIFAR configuration used for benchmarks, 3,172,426 parameters. */
    public static ResNeXtConfig resnext29_4x16d() {
        return cifar("resnext29_4x16d", 4, 16);
    }

    /**
     * A small, fast network for demos and tests: CIFAR stem, three stages of one block, cardinality 4,
     * 32x32 RGB input, 10 classes; trains in minutes on two cores.
     */
    public static ResNeXtConfig small() {
        return ResNeXtConfig.builder().name("small").stem(StemKind.CIFAR).stemWidth(16)
                .stageDepths(1, 1, 1).stagePlanes(16, 32, 64).cardinality(4).baseWidth(16)
                .input(32, 32, 3).numClasses(10).learningRate(0.05).weightDecay(5e-4).build();
    }

    /**
     * torchvision topology (ImageNet stem, four stages, v1.5 bottlenecks) with every channel count
     * divided by four: the configuration of the shared golden files ({@code tiny} in the PyTorch
     * reference scripts), 566,362 parameters at 10 classes, 64x64 input.
     */
    public static ResNeXtConfig tiny() {
        return ResNeXtConfig.builder().name("tiny").stem(StemKind.IMAGENET).stemWidth(16)
                .stageDepths(1, 2, 1, 1).stagePlanes(16, 32, 64, 128).cardinality(8).baseWidth(16)
                .input(64, 64, 3).numClasses(10).build();
    }

    /** The preset with this name. */
    public static ResNeXtConfig get(String name) {
        Supplier<ResNeXtConfig> s = PRESETS.get(name);
        if (s == null) {
            throw new IllegalArgumentException("unknown model preset '" + name + "'; choose one of "
                    + String.join(", ", PRESETS.keySet()));
        }
        return s.get();
    }

    /** Whether a preset of this name exists. */
    public static boolean exists(String name) {
        return PRESETS.containsKey(name);
    }

    /** All preset names, in a stable order. */
    public static Set<String> names() {
        return PRESETS.keySet();
    }

    private static ResNeXtConfig imagenet(String name, int[] depths, int cardinality, int baseWidth) {
        return ResNeXtConfig.builder().name(name).stem(StemKind.IMAGENET).stemWidth(64)
                .stageDepths(depths).stagePlanes(64, 128, 256, 512).cardinality(cardinality)
                .baseWidth(baseWidth).input(224, 224, 3).numClasses(1000).learningRate(0.1).weightDecay(1e-4)
                .build();
    }

    private static ResNeXtConfig cifar(String name, int cardinality, int baseWidth) {
        return ResNeXtConfig.builder().name(name).stem(StemKind.CIFAR).stemWidth(64)
                .stageDepths(3, 3, 3).stagePlanes(64, 128, 256).cardinality(cardinality)
                .baseWidth(baseWidth).input(32, 32, 3).numClasses(10).learningRate(0.1).weightDecay(5e-4)
                .build();
    }
}
