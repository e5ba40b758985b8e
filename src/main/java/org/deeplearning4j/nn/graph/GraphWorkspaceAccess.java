package org.deeplearning4j.nn.graph;

import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;

/**
 * Reaches the per-graph workspace configurations that DL4J 1.0.0-M2.1 keeps in protected fields of
 * {@link ComputationGraph} (this class shares its package for that). Used only by
 * {@code dev.resnext.model.GraphMemory}; see there for why.
 */
public final class GraphWorkspaceAccess {
    private GraphWorkspaceAccess() {
    }

    /** The configuration of the graph's activation-gradient workspaces ({@code WS_LAYER_ACT_<n>}). */
    public static WorkspaceConfiguration activationGradients(ComputationGraph graph) {
        return graph.WS_LAYER_ACT_X_CONFIG;
    }

    /** The configuration of the graph's per-layer working-memory workspace. */
    public static WorkspaceConfiguration workingMemory(ComputationGraph graph) {
        return graph.WS_LAYER_WORKING_MEM_CONFIG;
    }
}
