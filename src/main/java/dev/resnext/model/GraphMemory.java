package dev.resnext.model;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.GraphWorkspaceAccess;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;

/**
 * Makes a graph's activation-gradient workspaces settle after the first training steps.
 *
 * <p>Why: DL4J M2.1 sizes each {@code WS_LAYER_ACT_<n>} workspace (they hold the gradients flowing
 * back between vertices) only after it has been opened as many times as the graph has vertices.
 * A ResNeXt-50 graph has ~1,200 vertices (512 split vertices), so for the first hundred or more
 * steps every activation gradient is a separate native allocation, freed again a moment later:
 * slower steps, and glibc keeps the freed memory, which raised peak resident memory by about a
 * gigabyte at batch 8. Sizing the workspaces after {@value #LEARNING_CYCLES} openings (within the
 * first step) keeps them in place from then on; a later, larger gradient still fits because DL4J
 * reallocates a workspace that overflows, so steps settle after one or two (measured: 4, 16 and 64
 * openings all settle; 16 settled soonest, with the lowest peak memory).
 */
public final class GraphMemory {

    /** Openings of a gradient workspace before DL4J sizes it (DL4J's own default: the vertex count). */
    public static final int LEARNING_CYCLES = 16;

    /** Overrides {@link #LEARNING_CYCLES}. */
    public static final String CYCLES_PROPERTY = "resnext.workspaceLearningCycles";

    /** Set to "false" to keep DL4J's own workspace learning. */
    public static final String ENABLED_PROPERTY = "resnext.fastWorkspaceLearning";

    private GraphMemory() {
    }

    /**
     * Applies the tuning to {@code graph} (idempotent). Call it before the graph's first training
     * step on a thread; workspaces already created keep the sizes they have.
     *
     * @return the graph, for chaining
     */
    public static ComputationGraph tune(ComputationGraph graph) {
        if ("false".equalsIgnoreCase(System.getProperty(ENABLED_PROPERTY))) {
            return graph;
        }
        WorkspaceConfiguration act = GraphWorkspaceAccess.activationGradients(graph);
        if (act != null && act.getPolicyLearning() == LearningPolicy.OVER_TIME
                && act.getCyclesBeforeInitialization() > LEARNING_CYCLES) {
            act.setCyclesBeforeInitialization(Integer.getInteger(CYCLES_PROPERTY, LEARNING_CYCLES));
        }
        return graph;
    }
}
