package dev.resnext.backend;

import org.bytedeco.javacpp.Loader;
import org.nd4j.linalg.api.environment.Nd4jEnvironment;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Chooses, prepares and reports the ND4J backend.
 *
 * <p>Call {@link #initialize(BackendChoice)} before anything else touches ND4J or DL4J. It selects
 * the oneDNN native build where it is on the classpath, loads ND4J, switches DL4J's cuDNN layer
 * helpers on when CUDA loaded (M2.1 ships them off; on the CPU the runtime's own oneDNN kernels
 * take their place), checks the result against the request and logs one line.
 *
 * <p>ND4J reads backend priorities only from the environment ({@code BACKEND_PRIORITY_CPU},
 * {@code BACKEND_PRIORITY_GPU}) when the JVM starts; {@code scripts/resnext} sets them from
 * {@code --backend}. A JVM started without them follows ND4J's default (CUDA first), and this
 * class reports a mismatch as an error instead of silently running elsewhere.
 */
public final class Backends {
    private static final Logger log = LoggerFactory.getLogger(Backends.class);

    /** DL4J system property that disables native layer helpers (default "true" in M2.1). */
    public static final String HELPERS_DISABLE_PROPERTY = "org.eclipse.deeplearning4j.helpers.disable";
    /** JavaCPP property selecting a native build variant, e.g. "-onednn". */
    public static final String PLATFORM_EXTENSION_PROPERTY = "org.bytedeco.javacpp.platform.extension";
    private static final String CUDA_BACKEND_CLASS = "org.nd4j.linalg.jcublas.JCublasBackend";

    private static volatile BackendInfo info;

    private Backends() {
    }

    /**
     * Sets the system properties that must be in place before ND4J loads. Safe to call repeatedly;
     * explicit user settings win.
     */
    public static synchronized void prepare() {
        if (System.getProperty(PLATFORM_EXTENSION_PROPERTY) == null
                && dev.resnext.RuntimeSettings.current().oneDnn()
                && oneDnnBuildPresent()) {
            System.setProperty(PLATFORM_EXTENSION_PROPERTY, "-onednn");
        }
    }

    /** Whether the libnd4j oneDNN build for this platform is on the classpath. */
    public static boolean oneDnnBuildPresent() {
        String path = "org/nd4j/linalg/cpu/nativecpu/bindings/" + Loader.getPlatform() + "-onednn/"
                + System.mapLibraryName("nd4jcpu");
        return Backends.class.getClassLoader().getResource(path) != null;
    }

    /** Whether the CUDA backend classes are on the classpath (built with the cuda profile). */
    public static boolean cudaOnClasspath() {
        try {
            Class.forName(CUDA_BACKEND_CLASS, false, Backends.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /**
     * Loads ND4J, checks the backend against {@code choice}, logs it once and returns what is in use.
     *
     * @throws BackendUnavailableException when the requested backend is not the one that loaded
     */
    public static synchronized BackendInfo initialize(BackendChoice choice) {
        prepare();
        String backend;
        try {
            backend = String.valueOf(Nd4j.getExecutioner().getEnvironmentInformation()
                    .getProperty(Nd4jEnvironment.BACKEND_KEY)).toUpperCase(Locale.ROOT);
        } catch (Throwable t) {
            throw new BackendUnavailableException("ND4J could not load any backend: " + rootMessage(t));
        }
        boolean cuda = "CUDA".equals(backend);
        if (cuda && System.getProperty(HELPERS_DISABLE_PROPERTY) == null) {
            System.setProperty(HELPERS_DISABLE_PROPERTY, "false");
        }
        if (choice == BackendChoice.CUDA && !cuda) {
            throw new BackendUnavailableException("cuda", cudaOnClasspath()
                    ? "the CUDA backend could not be loaded (no usable NVIDIA driver or GPU here)"
                    : "this build has no CUDA backend; build with the cuda profile "
                    + "(RESNEXT_MAVEN_PROFILES=cuda scripts/resnext ...)");
        }
        if (choice == BackendChoice.CPU && cuda) {
            throw new BackendUnavailableException("cpu", "ND4J loaded CUDA because BACKEND_PRIORITY_CPU was "
                    + "not set when the JVM started; set BACKEND_PRIORITY_CPU=200 (scripts/resnext does this)");
        }
        if (choice == BackendChoice.AUTO && !cuda && cudaOnClasspath()) {
            log.info("CUDA backend unavailable on this machine (no usable NVIDIA driver or GPU); using the CPU backend");
        }
        BackendInfo current = describe(backend);
        if (info == null) {
            log.info(current.describe());
        }
        info = current;
        return current;
    }

    /** The backend in use, initialising with {@link BackendChoice#fromEnvironment()} if needed. */
    public static BackendInfo current() {
        BackendInfo i = info;
        return i != null ? i : initialize(BackendChoice.fromEnvironment());
    }

    /**
     * Whether the runtime's oneDNN kernels are in use (CPU backend, oneDNN loaded, not switched
     * off). DL4J's own oneDNN layer helpers are not used: in M2.1 they can only be switched on by
     * a class placed inside ND4J's package, which breaks under separate class loaders, and the
     * runtime replaces every layer they served (see dev.resnext.runtime.GraphRuntime).
     */
    public static boolean oneDnnKernelsActive() {
        return OneDnn.isCpuBackend() && OneDnn.available();
    }

    private static BackendInfo describe(String backend) {
        Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
        int threads = intValue(env.get(Nd4jEnvironment.OMP_THREADS_KEY), Runtime.getRuntime().availableProcessors());
        String blas = String.valueOf(env.getOrDefault(Nd4jEnvironment.BLAS_VENDOR_KEY, "unknown"));
        boolean cuda = "CUDA".equals(backend);
        String ext = System.getProperty(PLATFORM_EXTENSION_PROPERTY, "");
        String build = Loader.getPlatform() + (cuda ? "" : ext);
        boolean helpersOn = !Boolean.parseBoolean(System.getProperty(HELPERS_DISABLE_PROPERTY, "true"))
                && Nd4j.getEnvironment().helpersAllowed();
        String device = cuda ? gpuDescription(env) : cpuDescription();
        return new BackendInfo(backend, blas, threads, build, !cuda && oneDnnKernelsActive(), cuda && helpersOn,
                device);
    }

    @SuppressWarnings("unchecked")
    private static String gpuDescription(Properties env) {
        Object list = env.get(Nd4jEnvironment.CUDA_DEVICE_INFORMATION_KEY);
        if (list instanceof List<?> devices && !devices.isEmpty()) {
            StringBuilder sb = new StringBuilder();
            for (Object d : devices) {
                Map<String, Object> m = (Map<String, Object>) d;
                if (sb.length() > 0) sb.append("; ");
                long total = longValue(m.get(Nd4jEnvironment.CUDA_TOTAL_MEMORY_KEY));
                long free = longValue(m.get(Nd4jEnvironment.CUDA_FREE_MEMORY_KEY));
                sb.append(m.get(Nd4jEnvironment.CUDA_DEVICE_NAME_KEY)).append(String.format(Locale.ROOT,
                        " (%.1f GiB, %.1f GiB free)", total / 1073741824.0, free / 1073741824.0));
            }
            return sb.toString();
        }
        return "CUDA device";
    }

    private static String cpuDescription() {
        String model = System.getProperty("os.arch");
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    model = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux: keep the architecture name
        }
        return model + ", " + Runtime.getRuntime().availableProcessors() + " cores";
    }

    private static int intValue(Object o, int dflt) {
        return o instanceof Number n ? n.intValue() : dflt;
    }

    private static long longValue(Object o) {
        return o instanceof Number n ? n.longValue() : 0L;
    }

    private static String rootMessage(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null) r = r.getCause();
        return r.getClass().getSimpleName() + ": " + r.getMessage();
    }
}
