package dev.resnext.runtime;

import dev.resnext.RuntimeSettings;
import dev.resnext.compat.Dl4jInternals;
import org.deeplearning4j.nn.graph.ComputationGraph;
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
 * gigabyte at batch 8. Sizing the workspaces after a few openings (resnext.workspaceLearningCycles,
 * default 16, within the first step) keeps them in place from then on; a later, larger gradient
 * still fits because DL4J reallocates a workspace that overflows.
 *
 * <p>Only {@link GraphRuntime} calls this: it is part of preparing a graph.
 */
final class GraphMemory {

    private GraphMemory() {
    }

    /**
     * Applies the tuning to {@code graph} (idempotent). Call it before the graph's first training
     * step on a thread; workspaces already created keep the sizes they have.
     */
    static void tune(ComputationGraph graph, RuntimeSettings settings) {
        if (!settings.fastWorkspaceLearning()) {
            return;
        }
        WorkspaceConfiguration act = Dl4jInternals.activationGradientWorkspace(graph);
        if (act != null && act.getPolicyLearning() == LearningPolicy.OVER_TIME
                && act.getCyclesBeforeInitialization() > settings.workspaceLearningCycles()) {
            act.setCyclesBeforeInitialization(settings.workspaceLearningCycles());
        }
    }
}
