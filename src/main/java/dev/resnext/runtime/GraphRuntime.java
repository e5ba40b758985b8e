package dev.resnext.runtime;

import dev.resnext.RuntimeSettings;
import dev.resnext.backend.OneDnn;
import dev.resnext.model.StockForm;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.nd4j.linalg.api.ndarray.INDArray;

import dev.resnext.model.VertexNames;
import dev.resnext.runtime.inference.InferencePlan;
import dev.resnext.runtime.training.TrainingPlan;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.WeakHashMap;

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
 *   early (see {@link RuntimeForm}); inference through a compiled {@link InferencePlan} and
 *   training steps ({@link #fit}) through a compiled {@link TrainingPlan} where the graph is a
 *   ResNeXt they recognise;</li>
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
        try {
            graph.init(params, false);
        } catch (RuntimeException e) {
            if (params == null || params.rank() != 1) {
                throw e;
            }
            // DL4J 1.0.0-M2 (the Spark build) slices the flattened parameters as a [1, N] row; M2.1
            // writes and takes [N]. Only the M2 path gets here, so M2.1 behaviour is unchanged.
            graph = new ComputationGraph(runtimeForm(conf));
            graph.init(params.reshape(1, params.length()), false);
            if (updaterState != null && updaterState.rank() == 1) {
                updaterState = updaterState.reshape(1, updaterState.length());
            }
        }
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
        return prepare(graph, mode, InferencePlan.Precision.FP32);
    }

    /**
     * {@link #prepare(ComputationGraph, Mode)} with the number format of the inference plan
     * (bf16: bfloat16 weights and activations where the CPU has native support).
     *
     * @throws dev.resnext.ResNeXtException for bf16 on a CPU without AVX512_BF16 or AMX
     */
    public static ComputationGraph prepare(ComputationGraph graph, Mode mode, InferencePlan.Precision precision) {
        if (precision == InferencePlan.Precision.BF16 && !InferencePlan.bf16Supported()) {
            throw new dev.resnext.ResNeXtException("bf16 inference needs a CPU with AVX512_BF16 or AMX; this one has "
                    + "neither (use fp32)");
        }
        ComputationGraphConfiguration conf = graph.getConfiguration();
        ComputationGraphConfiguration rt = OneDnn.isCpuBackend() ? RuntimeForm.of(conf, RuntimeSettings.current())
                : null;
        if (rt == null) {
            finish(graph, mode, precision);
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
        finish(prepared, mode, precision);
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
        finish(graph, mode, InferencePlan.Precision.FP32);
    }

    private static void finish(ComputationGraph graph, Mode mode, InferencePlan.Precision precision) {
        if (mode == Mode.TRAINING && OneDnn.isCpuBackend()) {
            GraphMemory.tune(graph, RuntimeSettings.current());
        }
        if (mode == Mode.INFERENCE && OneDnn.isCpuBackend() && RuntimeSettings.current().inferencePlan()) {
            synchronized (PLANS) {
                PlanHolder h = PLANS.get(graph.getVertices());
                if (h == null || h.precision != precision) {
                    PLANS.put(graph.getVertices(), new PlanHolder(graph, precision));
                }
            }
        }
    }

    // keyed by the graph's vertex array (identity): ComputationGraph.equals compares configurations and parameters
    private static final Map<org.deeplearning4j.nn.graph.vertex.GraphVertex[], PlanHolder> PLANS = new WeakHashMap<>();

    /**
     * The compiled inference plan of a graph prepared for inference, compiled at first use and again
     * when the graph has trained since (its iteration count moved); null: run the graph itself.
     */
    private static final class PlanHolder {
        private final java.lang.ref.WeakReference<ComputationGraph> graph;
        private final InferencePlan.Precision precision;
        private InferencePlan plan;
        private boolean unsupported;
        private long compiledAt = -1;

        PlanHolder(ComputationGraph graph, InferencePlan.Precision precision) {
            this.graph = new java.lang.ref.WeakReference<>(graph);
            this.precision = precision;
        }

        synchronized InferencePlan get() {
            ComputationGraph g = graph.get();
            if (g == null || unsupported) {
                return null;
            }
            long progress = ((long) g.getEpochCount() << 32) + g.getIterationCount();
            if (plan == null || progress != compiledAt) {
                if (plan != null) {
                    plan.close();
                }
                plan = InferencePlan.compile(g, precision);
                unsupported = plan == null;
                compiledAt = progress;
            }
            return plan;
        }

        synchronized void close() {
            if (plan != null) {
                plan.close();
                plan = null;
            }
            unsupported = true;
        }
    }

    /**
     * Frees what the runtime holds for {@code graph} beyond the graph itself (its compiled inference
     * and training plans: native primitives, weights and activation buffers), when a program drops a
     * graph and should not wait for the garbage collector (a server replacing its model, a job that
     * trained and goes on with other work). Inference on the graph afterwards runs on the graph
     * itself; a later {@link #fit} compiles a training plan again.
     */
    public static void release(ComputationGraph graph) {
        releaseTraining(graph);
        PlanHolder h;
        synchronized (PLANS) {
            h = PLANS.remove(graph.getVertices());
        }
        if (h != null) {
            h.close();
        }
    }

    /**
     * Frees the compiled training plan of {@code graph} (its activation buffers), keeping everything
     * else; a later {@link #fit} compiles it again.
     */
    public static void releaseTraining(ComputationGraph graph) {
        Object t;
        synchronized (TRAINING_PLANS) {
            t = TRAINING_PLANS.remove(graph.getVertices());
        }
        if (t instanceof TrainingPlan tp) {
            tp.close();
        }
    }

    private static InferencePlan plan(ComputationGraph graph) {
        PlanHolder h;
        synchronized (PLANS) {
            h = PLANS.get(graph.getVertices());
        }
        return h == null ? null : h.get();
    }

    /**
     * Probabilities (the output layer's activations) of an NCHW input in inference mode: on the
     * compiled plan where the graph was prepared for inference, else on the graph itself.
     */
    public static INDArray output(ComputationGraph graph, INDArray input) {
        InferencePlan p = plan(graph);
        return p != null ? p.output(input) : graph.output(false, input)[0];
    }

    /** The classifier's output (head.fc, before softmax/sigmoid) in inference mode; see {@link #output}. */
    public static INDArray logits(ComputationGraph graph, INDArray input) {
        InferencePlan p = plan(graph);
        return p != null ? p.logits(input)
                : graph.output(List.of(VertexNames.HEAD_FC), false, new INDArray[] {input}, null)[0];
    }

    /** The globally pooled features (head.pool) in inference mode; see {@link #output}. */
    public static INDArray pooled(ComputationGraph graph, INDArray input) {
        InferencePlan p = plan(graph);
        return p != null ? p.pooled(input)
                : graph.output(List.of(VertexNames.HEAD_POOL), false, new INDArray[] {input}, null)[0];
    }

    /**
     * One training step on a batch, like {@code graph.fit(batch)}: on the compiled training plan
     * where the graph is a ResNeXt the plan knows (CPU backend, {@code resnext.trainingPlan}),
     * else on the graph itself. Returns the graph's score after the step.
     */
    public static double fit(ComputationGraph graph, org.nd4j.linalg.dataset.api.DataSet batch) {
        TrainingPlan p = batch.getFeaturesMaskArray() == null && batch.getLabelsMaskArray() == null
                && batch.getLabels() != null && batch.getLabels().rank() == 2 ? trainingPlan(graph) : null;
        if (p != null) {
            try {
                return p.fit(batch.getFeatures(), batch.getLabels());
            } catch (TrainingPlan.Unavailable e) {
                org.slf4j.LoggerFactory.getLogger(GraphRuntime.class).info("training steps run layer by layer: {}",
                        e.getMessage());
                synchronized (TRAINING_PLANS) {
                    TRAINING_PLANS.put(graph.getVertices(), UNSUPPORTED);
                }
                p.close();
            }
        }
        graph.fit(batch);
        return graph.score();
    }

    /** Whether training steps of {@code graph} run on a compiled training plan. */
    public static boolean hasTrainingPlan(ComputationGraph graph) {
        return trainingPlan(graph) != null;
    }

    private static final Map<org.deeplearning4j.nn.graph.vertex.GraphVertex[], Object> TRAINING_PLANS =
            new WeakHashMap<>();
    private static final Object UNSUPPORTED = new Object();

    private static TrainingPlan trainingPlan(ComputationGraph graph) {
        if (!RuntimeSettings.current().trainingPlan() || !OneDnn.isCpuBackend()) {
            return null;
        }
        synchronized (TRAINING_PLANS) {
            Object p = TRAINING_PLANS.get(graph.getVertices());
            if (p == null) {
                TrainingPlan compiled = TrainingPlan.compile(graph);
                p = compiled != null ? compiled : UNSUPPORTED;
                TRAINING_PLANS.put(graph.getVertices(), p);
            }
            return p instanceof TrainingPlan t ? t : null;
        }
    }

    /** Whether {@code graph} runs inference on a compiled plan. */
    public static boolean hasInferencePlan(ComputationGraph graph) {
        return plan(graph) != null;
    }
}
