package dev.resnext.compat;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.layers.normalization.BatchNormalizationHelper;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Field;

/**
 * The only place that touches DL4J 1.0.0-M2.1 internals: fields DL4J keeps protected or
 * package-private and offers no API for.
 *
 * <p>Everything here goes through reflection, never through a class placed in DL4J's packages: such
 * a class breaks whenever DL4J and this jar are loaded by different class loaders (a Spark
 * cluster with DL4J on the executors' class path ended in {@code IllegalAccessError}). Each
 * access has a fallback: the lever it serves is skipped with one debug line, and results stay the
 * same. {@code Dl4jInternalsTest} fails when the DL4J version changes, so that these are re-checked.
 */
public final class Dl4jInternals {
    private static final Logger log = LoggerFactory.getLogger(Dl4jInternals.class);

    /** The DL4J version these accesses were written and checked against. */
    public static final String CHECKED_DL4J_VERSION = "1.0.0-M2.1";

    private static final Field ACT_GRADIENT_WS = field(ComputationGraph.class, "WS_LAYER_ACT_X_CONFIG");
    private static final Field BN_HELPER = field(BatchNormalization.class, "helper");

    private Dl4jInternals() {
    }

    /**
     * The configuration of a graph's activation-gradient workspaces ({@code WS_LAYER_ACT_<n>}), a
     * protected field of {@link ComputationGraph}; null when it cannot be reached.
     */
    public static WorkspaceConfiguration activationGradientWorkspace(ComputationGraph graph) {
        return (WorkspaceConfiguration) get(ACT_GRADIENT_WS, graph);
    }

    /**
     * Installs {@code helper} on a batch-normalisation layer (DL4J keeps it in a package-private
     * field and has no setter). Returns false, leaving DL4J's own helper, when that fails.
     */
    public static boolean setBatchNormHelper(BatchNormalization layer, BatchNormalizationHelper helper) {
        if (BN_HELPER == null) {
            return false;
        }
        try {
            BN_HELPER.set(layer, helper);
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.debug("cannot install the batch-normalisation helper: {}", e.toString());
            return false;
        }
    }

    /** Whether every field this class needs was found (false: DL4J changed; levers are skipped). */
    public static boolean allReachable() {
        return ACT_GRADIENT_WS != null && BN_HELPER != null;
    }

    private static Object get(Field f, Object target) {
        if (f == null) {
            return null;
        }
        try {
            return f.get(target);
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.debug("cannot read {}: {}", f.getName(), e.toString());
            return null;
        }
    }

    private static Field field(Class<?> owner, String name) {
        try {
            Field f = owner.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.debug("DL4J internal {}.{} not reachable ({}); the lever that needs it is skipped",
                    owner.getSimpleName(), name, e.toString());
            return null;
        }
    }
}
