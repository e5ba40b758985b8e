package dev.resnext;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Every {@code resnext.*} system property, read in this one class, once per process.
 *
 * <p>The properties switch the runtime's speed levers off one by one (to measure what each gives,
 * or to work around a defect) and tune a few sizes. None changes results beyond float rounding,
 * and none is stored in a model zip. {@code info} lists them with the values in force, and
 * docs/performance.md explains each.
 *
 * <p>One idiom for every value: a property that is not set takes its documented default; a switch
 * takes exactly {@code true} or {@code false}; a bad value is an error that names the property.
 *
 * @param oneDnn                 oneDNN kernels at all (and the oneDNN build of libnd4j)
 * @param oneDnnConvolution      convolutions on cached oneDNN primitives
 * @param oneDnnBatchNorm        batch normalisation on cached oneDNN primitives
 * @param oneDnnRelu             ReLU gradient on oneDNN's eltwise backward
 * @param libnd4jConvBackward    convolution gradients through libnd4j's conv2d_bp instead
 * @param fusedGroups            a block's group branches as one grouped convolution
 * @param sharedSplitGradient    one shared input gradient for a block's split vertices
 * @param inPlaceRelu            ReLU in place during training
 * @param fastWorkspaceLearning  size gradient workspaces after a few openings
 * @param workspaceLearningCycles openings before a gradient workspace is sized
 * @param maxResidentBytes       resident-memory limit kept by the watchdog (0: none)
 * @param inferencePlan          graphs loaded for inference run as a compiled oneDNN plan
 * @param npzInMemoryBytes       largest .npz image array kept in memory as raw bytes
 * @param imageCacheBytes        budget for prepared images held in memory
 * @param cacheDir               where large .npz arrays are extracted ("": $RESNEXT_CACHE or ~/.cache/resnext)
 * @param cpuReplicas            {@code --workers N} on the CPU runs N ParallelWrapper replicas (false: one worker)
 * @param plainPointwise         1x1 convolutions in training run on plain NCHW arrays (no reorders)
 * @param trainingPlan           training steps of a recognised ResNeXt run as a compiled oneDNN plan
 */
public record RuntimeSettings(boolean oneDnn, boolean oneDnnConvolution, boolean oneDnnBatchNorm, boolean oneDnnRelu,
                              boolean libnd4jConvBackward, boolean fusedGroups, boolean sharedSplitGradient,
                              boolean inPlaceRelu, boolean fastWorkspaceLearning, int workspaceLearningCycles,
                              long maxResidentBytes, boolean inferencePlan, long npzInMemoryBytes,
                              long imageCacheBytes, String cacheDir, boolean cpuReplicas,
                              boolean plainPointwise, boolean trainingPlan) {

    /** One property: its name, default and meaning. */
    public record Property(String name, String defaultValue, String meaning) {
    }

    /** Every property this class reads, in the order {@code info} lists them. */
    public static final List<Property> PROPERTIES = List.of(
            new Property("resnext.onednn", "true", "oneDNN kernels at all (and libnd4j's oneDNN build)"),
            new Property("resnext.onednn.conv", "true", "convolutions on cached oneDNN primitives"),
            new Property("resnext.onednn.batchNorm", "true", "batch normalisation on cached oneDNN primitives"),
            new Property("resnext.onednn.relu", "true", "ReLU gradient on oneDNN's eltwise backward"),
            new Property("resnext.libnd4jConvBackward", "false", "convolution gradients through libnd4j's conv2d_bp"),
            new Property("resnext.fusedGroups", "true", "a block's group branches as one grouped convolution"),
            new Property("resnext.sharedSplitGradient", "true", "one shared input gradient for a block's split vertices"),
            new Property("resnext.inPlaceRelu", "true", "ReLU in place during training"),
            new Property("resnext.fastWorkspaceLearning", "true", "size gradient workspaces after a few openings"),
            new Property("resnext.workspaceLearningCycles", "16", "openings before a gradient workspace is sized"),
            new Property("resnext.maxResidentBytes", "0", "resident-memory limit kept by a watchdog (0: none; k/m/g suffixes)"),
            new Property("resnext.inferencePlan", "true", "inference through a compiled oneDNN plan (folded BN, fused post-ops)"),
            new Property("resnext.npzInMemoryBytes", "256m", "largest .npz image array kept in memory; larger ones are extracted to the cache"),
            new Property("resnext.imageCacheBytes", "1g", "budget for prepared images held in memory"),
            new Property("resnext.cacheDir", "", "where large .npz arrays are extracted (empty: $RESNEXT_CACHE, else ~/.cache/resnext)"),
            new Property("resnext.cpuReplicas", "false",
                    "--workers N on the CPU runs N replicas (false: one worker, which is faster on a CPU)"),
            new Property("resnext.onednn.plainPointwise", "true",
                    "1x1 convolutions in training on plain NCHW arrays (oneDNN's GEMM kernels, no reorders)"),
            new Property("resnext.trainingPlan", "true",
                    "training steps through a compiled oneDNN plan (blocked layouts, batch norm + ReLU fused)"));

    private static volatile RuntimeSettings current;

    /** The settings in force: the system properties, read at the first call. */
    public static RuntimeSettings current() {
        RuntimeSettings s = current;
        if (s == null) {
            synchronized (RuntimeSettings.class) {
                s = current;
                if (s == null) {
                    s = from(System.getProperties());
                    current = s;
                }
            }
        }
        return s;
    }

    /**
     * Replaces the settings in force until the returned handle is closed (for tests that compare
     * two configurations in one process). Graphs prepared meanwhile keep what they were built with.
     */
    public static Override override(RuntimeSettings settings) {
        RuntimeSettings previous = current();
        current = settings;
        return () -> current = previous;
    }

    /** Restores the settings that were in force before {@link #override}. */
    public interface Override extends AutoCloseable {
        @java.lang.Override
        void close();
    }

    /** The settings that {@code props} give. */
    public static RuntimeSettings from(Properties props) {
        return new RuntimeSettings(
                flag(props, "resnext.onednn"),
                flag(props, "resnext.onednn.conv"),
                flag(props, "resnext.onednn.batchNorm"),
                flag(props, "resnext.onednn.relu"),
                flag(props, "resnext.libnd4jConvBackward"),
                flag(props, "resnext.fusedGroups"),
                flag(props, "resnext.sharedSplitGradient"),
                flag(props, "resnext.inPlaceRelu"),
                flag(props, "resnext.fastWorkspaceLearning"),
                (int) number(props, "resnext.workspaceLearningCycles", 1, 1_000_000),
                bytes(props, "resnext.maxResidentBytes"),
                flag(props, "resnext.inferencePlan"),
                bytes(props, "resnext.npzInMemoryBytes"),
                bytes(props, "resnext.imageCacheBytes"),
                raw(props, "resnext.cacheDir"),
                flag(props, "resnext.cpuReplicas"),
                flag(props, "resnext.onednn.plainPointwise"),
                flag(props, "resnext.trainingPlan"));
    }

    /** Every lever on (the defaults). */
    public static RuntimeSettings defaults() {
        return from(new Properties());
    }

    /** Every speed lever off: DL4J's own code for every layer (what a plain DL4J program runs). */
    public RuntimeSettings allLeversOff() {
        return new RuntimeSettings(false, false, false, false, false, false, false, false, false,
                workspaceLearningCycles, maxResidentBytes, false, npzInMemoryBytes, imageCacheBytes, cacheDir, cpuReplicas,
                false, false);
    }

    /** The same settings with {@code resnext.cpuReplicas} set to {@code on}. */
    public RuntimeSettings withCpuReplicas(boolean on) {
        return new RuntimeSettings(oneDnn, oneDnnConvolution, oneDnnBatchNorm, oneDnnRelu, libnd4jConvBackward,
                fusedGroups, sharedSplitGradient, inPlaceRelu, fastWorkspaceLearning, workspaceLearningCycles,
                maxResidentBytes, inferencePlan, npzInMemoryBytes, imageCacheBytes, cacheDir, on, plainPointwise, trainingPlan);
    }

    /** The same settings with {@code resnext.onednn.plainPointwise} set to {@code on}. */
    public RuntimeSettings withPlainPointwise(boolean on) {
        return new RuntimeSettings(oneDnn, oneDnnConvolution, oneDnnBatchNorm, oneDnnRelu, libnd4jConvBackward,
                fusedGroups, sharedSplitGradient, inPlaceRelu, fastWorkspaceLearning, workspaceLearningCycles,
                maxResidentBytes, inferencePlan, npzInMemoryBytes, imageCacheBytes, cacheDir, cpuReplicas, on, trainingPlan);
    }

    /** Property name -> value in force, for {@code info}. */
    public Map<String, String> describe() {
        Map<String, String> m = new LinkedHashMap<>();
        List<Object> values = new ArrayList<>(List.of(oneDnn, oneDnnConvolution, oneDnnBatchNorm, oneDnnRelu,
                libnd4jConvBackward, fusedGroups, sharedSplitGradient, inPlaceRelu, fastWorkspaceLearning,
                workspaceLearningCycles, maxResidentBytes, inferencePlan, npzInMemoryBytes, imageCacheBytes, cacheDir,
                cpuReplicas, plainPointwise, trainingPlan));
        for (int i = 0; i < PROPERTIES.size(); i++) {
            m.put(PROPERTIES.get(i).name(), String.valueOf(values.get(i)));
        }
        return m;
    }

    private static String raw(Properties props, String name) {
        String v = props.getProperty(name);
        if (v == null) {
            v = PROPERTIES.stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow().defaultValue();
        }
        return v.trim();
    }

    private static boolean flag(Properties props, String name) {
        String v = raw(props, name).toLowerCase(Locale.ROOT);
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new ResNeXtException("system property " + name + " must be true or false, got '"
                    + props.getProperty(name) + "'");
        };
    }

    private static long number(Properties props, String name, long min, long max) {
        String v = raw(props, name);
        try {
            long n = Long.parseLong(v);
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new ResNeXtException("system property " + name + " must be a whole number from " + min + " to "
                    + max + ", got '" + v + "'");
        }
    }

    /** A byte count with an optional k, m, g or t suffix (powers of 1024). */
    public static long parseBytes(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        if (v.endsWith("b")) {
            v = v.substring(0, v.length() - 1);
        }
        long unit = 1;
        if (!v.isEmpty()) {
            switch (v.charAt(v.length() - 1)) {
                case 'k' -> unit = 1L << 10;
                case 'm' -> unit = 1L << 20;
                case 'g' -> unit = 1L << 30;
                case 't' -> unit = 1L << 40;
                default -> unit = 1;
            }
            if (unit != 1) {
                v = v.substring(0, v.length() - 1);
            }
        }
        long n = Long.parseLong(v.trim());
        if (n < 0 || n > Long.MAX_VALUE / unit) {
            throw new NumberFormatException("out of range: " + s);
        }
        return n * unit;
    }

    private static long bytes(Properties props, String name) {
        String v = raw(props, name);
        try {
            return parseBytes(v);
        } catch (NumberFormatException e) {
            throw new ResNeXtException("system property " + name + " must be a byte count such as 4g or 512m, got '"
                    + v + "'");
        }
    }
}
