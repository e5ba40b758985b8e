package dev.resnext.runtime;

import dev.resnext.RuntimeSettings;
import dev.resnext.compat.Dl4jInternals;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The activation-gradient workspaces of a tuned graph are sized within its first training steps. */
class GraphMemoryTest {

    @BeforeAll
    static void backend() {
        Backends.initialize(BackendChoice.CPU);
    }

    @Test
    void factoryGraphsAreTuned() {
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(Presets.tiny()));
        assertEquals(RuntimeSettings.current().workspaceLearningCycles(),
                Dl4jInternals.activationGradientWorkspace(g).getCyclesBeforeInitialization());
    }

    @Test
    void gradientWorkspacesHoldTheGradientsAfterTwoSteps() throws Exception {
        // workspaces are per thread: a fresh thread sees only this graph's
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                ResNeXtConfig c = Presets.tiny().toBuilder().input(32, 32, 3).build();
                ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(c));
                INDArray x = Nd4j.randn(DataType.FLOAT, 4, 3, 32, 32);
                INDArray y = Nd4j.zeros(DataType.FLOAT, 4, c.getNumClasses());
                for (int i = 0; i < 4; i++) {
                    y.putScalar(i, i, 1);
                }
                for (int i = 0; i < 2; i++) {
                    g.fit(new DataSet(x, y));
                }
                Map<String, Long> sizes = new TreeMap<>();
                for (MemoryWorkspace w : Nd4j.getWorkspaceManager().getAllWorkspacesForCurrentThread()) {
                    if (w.getId().startsWith("WS_LAYER_ACT_")) {
                        sizes.put(w.getId(), w.getCurrentSize());
                    }
                }
                result.set(sizes);
            } catch (Throwable e) {
                result.set(e);
            }
        });
        t.start();
        t.join();
        if (result.get() instanceof Throwable e) {
            throw new AssertionError(e);
        }
        @SuppressWarnings("unchecked")
        Map<String, Long> sizes = (Map<String, Long>) result.get();
        assertTrue(sizes.values().stream().anyMatch(s -> s > 0),
                "after two steps some gradient workspace should have its own memory: " + sizes);
    }
}
