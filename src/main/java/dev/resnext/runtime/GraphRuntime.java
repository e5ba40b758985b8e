package dev.resnext.runtime;

import dev.resnext.RuntimeSettings;
import dev.resnext.backend.OneDnn;
import dev.resnext.model.StockForm;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;
import java.util.TreeMap;

/**
 * The one door between a network and the way it runs fast.
 *
 * <p>A network is described and saved with DL4J's own classes ({@link StockForm}). Every place
 * that builds or loads a graph (the factory's fresh graph, model zip loading, fine-tuning, the
 * parallel-training replicas, the reuse API) passes it through here once, and gets back a graph
 * with the same vertices, names and parameters that runs on the backend in use as fast as this
 * project knows how:
 * <ul>
 *   <li>CPU: convolutions and batch normalisation on cached oneDNN primitives, a block's group
 *   branches as one grouped convolution, ReLU in place during training, gradient workspaces sized
 *   early (see {@link RuntimeForm});</li>
 *   <li>CUDA: DL4J's own layers (cuDNN), unchanged.</li>
 * </ul>
 * A plain DL4J program can call {@link #prepare(ComputationGraph)} on a graph it restored with
 * {@code ModelSerializer} to get the same speed. Settings come from {@link RuntimeSettings}.
 */
public final class GraphRuntime {

    /** What a prepared graph is used for. */
    public enum Mode {
        /** Training (fit, gradients); also serves inference. */
        TRAINING,
        /** Inference only (predict, evaluate, explain's forward, the reuse API). */
        INFERENCE
    }

    private GraphRuntime() {
    }

    /** A new network with fresh weights for a (stock or runtime) configuration, prepared for training. */
    public static ComputationGraph create(ComputationGraphConfiguration conf) {
        ComputationGraph graph = new ComputationGraph(runtimeForm(conf));
        graph.init();
        finish(graph, Mode.TRAINING);
        return graph;
    }

    /**
     * A network with the given parameters (used as the network's own array, not copied) and,
     * unless null, optimizer state.
     */
    public static ComputationGraph create(ComputationGraphConfiguration conf, INDArray params, INDArray updaterState,
                                          Mode mode) {
        ComputationGraph graph = new ComputationGraph(runtimeForm(conf));
        graph.init(params, false);
        if (updaterState != null && updaterState.length() > 0) {
            graph.getUpdater(true).setStateViewArray(updaterState);
        }
        finish(graph, mode);
        return graph;
    }

    /** {@link #prepare(ComputationGraph, Mode)} for training. */
    public static ComputationGraph prepare(ComputationGraph graph) {
        return prepare(graph, Mode.TRAINING);
    }

    /**
     * Prepares an initialised graph (stock, e.g. restored by {@code ModelSerializer}, or already
     * prepared) for {@code mode}. Returns {@code graph} itself when it is in runtime form already,
     * else a new graph that shares {@code graph}'s parameter array (and copies its optimizer
     * state and listeners); use the returned graph from then on.
     */
    public static ComputationGraph prepare(ComputationGraph graph, Mode mode) {
        ComputationGraphConfiguration conf = graph.getConfiguration();
        ComputationGraphConfiguration rt = OneDnn.isCpuBackend() ? RuntimeForm.of(conf, RuntimeSettings.current())
                : null;
        if (rt == null) {
            finish(graph, mode);
            return graph;
        }
        ComputationGraph prepared = new ComputationGraph(rt);
        prepared.init(graph.params(), false);
        ComputationGraphUpdater updater = graph.getUpdater(false);
        if (updater != null && updater.getStateViewArray() != null && updater.getStateViewArray().length() > 0) {
            prepared.getUpdater(true).setStateViewArray(updater.getStateViewArray());
        }
        if (graph.getListeners() != null && !graph.getListeners().isEmpty()) {
            prepared.setListeners(graph.getListeners());
        }
        finish(prepared, mode);
        return prepared;
    }

    /** The stock configuration of {@code graph}: what a zip stores (see {@link StockForm}). */
    public static ComputationGraphConfiguration stockConfiguration(ComputationGraph graph) {
        return StockForm.of(graph.getConfiguration());
    }

    /**
     * How many layers and vertices run on each implementation, by DL4J's class name and the
     * runtime's, for {@code info} and logs.
     */
    public static Map<String, Integer> implementations(ComputationGraph graph) {
        Map<String, Integer> m = new TreeMap<>();
        for (var v : graph.getVertices()) {
            Object impl = v.hasLayer() ? v.getLayer() : v;
            m.merge(impl.getClass().getSimpleName(), 1, Integer::sum);
        }
        return m;
    }

    private static ComputationGraphConfiguration runtimeForm(ComputationGraphConfiguration conf) {
        if (!OneDnn.isCpuBackend()) {
            return conf;
        }
        ComputationGraphConfiguration rt = RuntimeForm.of(conf, RuntimeSettings.current());
        return rt != null ? rt : conf;
    }

    private static void finish(ComputationGraph graph, Mode mode) {
        if (mode == Mode.TRAINING && OneDnn.isCpuBackend()) {
            GraphMemory.tune(graph, RuntimeSettings.current());
        }
    }
}
