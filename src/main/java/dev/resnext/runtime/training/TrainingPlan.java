package dev.resnext.runtime.training;

import dev.resnext.backend.OneDnn;
import dev.resnext.backend.OneDnnGroupedConvolution;
import dev.resnext.model.VertexNames;
import dev.resnext.runtime.GraphPatterns;
import dev.resnext.runtime.ResNeXtTopology;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.batch_normalization_backward;
import org.bytedeco.dnnl.batch_normalization_forward;
import org.bytedeco.dnnl.binary;
import org.bytedeco.dnnl.convolution_backward_data;
import org.bytedeco.dnnl.convolution_backward_weights;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.eltwise_backward;
import org.bytedeco.dnnl.eltwise_forward;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.inner_product_backward_data;
import org.bytedeco.dnnl.inner_product_backward_weights;
import org.bytedeco.dnnl.inner_product_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.pooling_backward;
import org.bytedeco.dnnl.pooling_forward;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.solvers.BaseOptimizer;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A ResNeXt graph's training step compiled for oneDNN: forward, loss, backward, then DL4J's own
 * updater on the graph's parameters.
 *
 * <p>What it does that the layer-by-layer graph cannot: activations stay in the layout oneDNN
 * prefers (blocked) from the stem to the global pooling, in both directions; batch normalisation and
 * the ReLU after it run as one kernel (oneDNN's fused variant, whose backward reads a bit mask
 * instead of the activation); a block's group branches run as one grouped convolution; the residual
 * sum and its ReLU are one kernel written in place, and its gradient reaches both branches without
 * a copy; the classifier is a oneDNN inner product. Memory: every buffer is made once for an input
 * shape and kept for the next (no workspace learning, nothing allocated per step); what only the
 * forward pass needs and every backward buffer are shared between blocks; the outputs of a block's
 * first two ReLUs are made again in the backward pass instead of kept.
 *
 * <p>The graph stays the model: its parameters are read in place each step, the gradients are
 * written into its gradient view (the same numbers DL4J's backprop writes, to float rounding),
 * and the update, learning-rate schedule, regularisation, running batch-norm statistics, iteration
 * count, score and listeners go through DL4J as in {@code ComputationGraph.fit}. {@link #compile}
 * returns null for a graph it does not recognise (dropout, multi-label losses, convolutions with
 * bias, frozen layers that are not a leading stem and whole blocks); the caller then fits the graph
 * itself. Frozen leading stages (fine-tuning's {@code --freeze}) run with their batch norms in
 * inference mode, as DL4J's FrozenLayer runs them, and the backward pass stops before them. Calls are serialised.
 */
public final class TrainingPlan implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TrainingPlan.class);

    // weak: the runtime keeps plans in a map keyed (weakly) by the graph's vertices
    private final java.lang.ref.WeakReference<ComputationGraph> graphRef;
    private final Net net;
    private final Arena arena = new Arena();
    private Compiled compiled;
    private java.util.concurrent.CompletableFuture<?> updaterBuilt;

    private TrainingPlan(ComputationGraph graph, Net net) {
        this.graphRef = new java.lang.ref.WeakReference<>(graph);
        this.net = net;
    }

    /** A plan for {@code graph}, or null when its structure or settings are not the ones this plan knows. */
    public static TrainingPlan compile(ComputationGraph graph) {
        if (!dev.resnext.backend.Backends.oneDnnKernelsActive()
                || graph.getConfiguration().getDataType() != DataType.FLOAT) {
            return null;
        }
        try {
            Net n = Net.read(graph);
            return n == null ? null : new TrainingPlan(graph, n);
        } catch (RuntimeException e) {
            log.info("training steps run layer by layer: the compiled training plan does not take this graph ({})",
                    e.getMessage());
            return null;
        }
    }

    /**
     * One training step on a batch (NCHW float features, one-hot labels), like
     * {@code graph.fit(new DataSet(features, labels))}; returns the score (mean loss plus
     * regularisation), which the graph's {@code score()} reports too.
     */
    public synchronized double fit(INDArray features, INDArray labels) {
        ComputationGraph graph = graph();
        double score = gradientAndScore(features, labels);
        int iteration = graph.getIterationCount();
        int epoch = graph.getEpochCount();
        Gradient g = compiled.gradient;
        graph.getUpdater().update(g, iteration, epoch, (int) features.size(0), LayerWorkspaceMgr.noWorkspaces());
        graph.params().subi(graph.getFlattenedGradients().reshape(graph.params().shape()));
        if (graph.getListeners() != null) {
            for (TrainingListener l : graph.getListeners()) {
                l.iterationDone(graph, iteration, epoch);
            }
        }
        BaseOptimizer.incrementIterationCount(graph, 1);
        return score;
    }

    /**
     * Forward and backward without the update: the graph's gradient view holds the gradients
     * (sums over the batch, as DL4J's backprop leaves them) and the running-statistics steps of the
     * batch normalisations; returns the score, also set on the graph.
     */
    public synchronized double gradientAndScore(INDArray features, INDArray labels) {
        ComputationGraph graph = graph();
        if (features.rank() != 4 || features.size(1) != net.inChannels) {
            throw new IllegalArgumentException("input must be [N, " + net.inChannels + ", H, W], got "
                    + Arrays.toString(features.shape()));
        }
        long classes = graph.getLayer(VertexNames.HEAD_FC).getParam("W").size(1);
        if (labels.rank() != 2 || labels.size(0) != features.size(0) || labels.size(1) != classes) {
            throw new IllegalArgumentException("labels must be [" + features.size(0) + ", " + classes + "], got "
                    + Arrays.toString(labels.shape()));
        }
        if (graph.getFlattenedGradients() == null) {
            graph.initGradientsView();
        }
        try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            INDArray x = features.dataType() == DataType.FLOAT && OneDnn.isDense(features) ? features
                    : features.castTo(DataType.FLOAT).dup('c');
            if (compiled == null || !Arrays.equals(compiled.inShape, x.shape())
                    || compiled.gradientView != graph.getFlattenedGradients()) {
                if (compiled != null) {
                    compiled.close();
                    compiled = null;
                }
                if (graph.getUpdater(false) == null && updaterBuilt == null) {
                    // DL4J builds its updater (and zeroes its state) at the first update: on another
                    // thread meanwhile, so that the first step does not wait for it
                    updaterBuilt = java.util.concurrent.CompletableFuture.runAsync(() -> graph.getUpdater(true), BACKGROUND);
                }
                try {
                    arena.startTouching();
                    try {
                        compiled = new Compiled(net, graph, x.shape(), arena);
                    } finally {
                        arena.stopTouching();
                    }
                } catch (RuntimeException e) {
                    awaitUpdater();
                    throw new Unavailable("no training plan for input " + Arrays.toString(x.shape()) + ": " + e, e);
                }
            }
            double score = compiled.run(graph, x, labels.castTo(DataType.FLOAT)) + graph.calcRegularizationScore(true);
            awaitUpdater();
            graph.setScore(score);
            return score;
        }
    }

    /** This plan cannot run a batch of that shape (oneDNN has no kernel for it); nothing was changed. */
    public static final class Unavailable extends RuntimeException {
        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private void awaitUpdater() {
        if (updaterBuilt != null) {
            updaterBuilt.join();
            updaterBuilt = null;
        }
    }

    private ComputationGraph graph() {
        ComputationGraph g = graphRef.get();
        if (g == null) {
            throw new IllegalStateException("the graph of this training plan is gone");
        }
        return g;
    }

    @Override
    public synchronized void close() {
        if (compiled != null) {
            compiled.close();
            compiled = null;
        }
        arena.close();
    }

    // ------------------------------------------------------------------------------------------
    // the network's structure, by vertex names

    /** A convolution (the branches of a block's 3x3 as one grouped convolution) and its geometry. */
    record Conv(List<String> layers, long outChannels, long inChannels, int groups, int kh, int kw, int sh, int sw,
                int ph, int pw, int dh, int dw) {
    }

    /** A convolution, its batch normalisation and whether a ReLU follows the normalisation directly. */
    record Unit(Conv conv, String bn, double eps, double decay, boolean relu, boolean frozen) {
    }

    record Block(Unit u1, Unit u2, Unit u3, Unit downsample) {
        boolean frozen() {
            return u1.frozen();
        }
    }

    private static final class Net {
        long inChannels;
        Unit stem;
        int[] pool;
        final List<Block> blocks = new ArrayList<>();
        double clipEps;
        float[] classWeights;

        static Net read(ComputationGraph graph) {
            ComputationGraphConfiguration conf = graph.getConfiguration();
            Map<String, GraphVertex> v = conf.getVertices();
            ResNeXtTopology t = ResNeXtTopology.read(conf);
            Net n = new Net();
            n.stem = unit(v, t.stem().conv(), t.stem().bn(), true);
            if (!isRelu(layer(v, t.stemRelu()))) {
                throw new IllegalStateException("the stem's ReLU has dropout");
            }
            n.inChannels = n.stem.conv().inChannels();
            if (t.stemPool() != null) {
                SubsamplingLayer p = (SubsamplingLayer) layer(v, t.stemPool());
                if (p.getPoolingType() != org.deeplearning4j.nn.conf.layers.PoolingType.MAX
                        || p.getConvolutionMode() != ConvolutionMode.Truncate || p.getIDropout() != null
                        || !Arrays.equals(p.getDilation(), new int[] {1, 1})) {
                    throw new IllegalStateException("the stem's pooling is not a plain max pooling");
                }
                n.pool = new int[] {p.getKernelSize()[0], p.getKernelSize()[1], p.getStride()[0], p.getStride()[1],
                        p.getPadding()[0], p.getPadding()[1]};
            }
            for (ResNeXtTopology.Block tb : t.blocks()) {
                n.blocks.add(block(v, tb));
            }
            if (!(layer(v, t.headPool()) instanceof GlobalPoolingLayer gp)
                    || gp.getPoolingType() != PoolingType.AVG || gp.getIDropout() != null
                    || !(layer(v, t.headFc()) instanceof DenseLayer fc)
                    || !(fc.getActivationFn() instanceof ActivationIdentity) || fc.getIDropout() != null
                    || !fc.hasBias() || !plainGradients(fc)
                    || !(graph.getLayer(t.headLoss()).conf().getLayer() instanceof LossLayer loss)
                    || !(loss.getActivationFn() instanceof ActivationSoftmax)
                    || !(loss.getLossFn() instanceof LossMCXENT mc) || loss.getIDropout() != null) {
                throw new IllegalStateException(headProblem(graph));
            }
            // the live layer's loss (the trainer sets class weights there), not the configuration's copy
            n.clipEps = mc.getSoftmaxClipEps();
            n.classWeights = mc.getWeights() == null ? null : mc.getWeights().toFloatVector();
            // frozen layers: a prefix (the stem, then whole blocks), as fine-tuning freezes them; the
            // backward pass stops where it starts
            boolean before = n.stem.frozen();
            for (Block b : n.blocks) {
                if (b.frozen() && !before) {
                    throw new IllegalStateException("frozen layers after trainable ones");
                }
                before = b.frozen();
            }
            if (frozen(v, t.headFc())) {
                throw new IllegalStateException("the classifier is frozen: nothing to train");
            }
            return n;
        }

        private static String headProblem(ComputationGraph graph) {
            org.deeplearning4j.nn.conf.layers.Layer loss = graph.getLayer(VertexNames.HEAD_LOSS).conf().getLayer();
            if (loss instanceof LossLayer l && !(l.getActivationFn() instanceof ActivationSoftmax)) {
                return "the head is not a softmax classifier (a multi-label head trains on the graph)";
            }
            return "the head is not average pooling, a dense layer with bias and softmax cross-entropy, without dropout";
        }

        /** A block of the topology as the plan's units: plain layers, frozen as a whole or not at all. */
        private static Block block(Map<String, GraphVertex> v, ResNeXtTopology.Block tb) {
            String p = tb.prefix();
            Unit u1 = unit(v, tb.u1().conv(), tb.u1().bn(), true);
            List<String> branches = tb.u2().convs();
            Conv c2 = grouped(v, branches);
            if (!isRelu(layer(v, tb.relu1())) || !isRelu(layer(v, tb.relu2())) || !isRelu(layer(v, tb.out()))) {
                throw new IllegalStateException(p + ": a ReLU has dropout");
            }
            boolean branchesFrozen = frozen(v, branches.get(0));
            for (String br : branches) {
                if (frozen(v, br) != branchesFrozen) {
                    throw new IllegalStateException(p + ": some group branches are frozen, others not");
                }
            }
            Unit u2 = bnUnit(v, c2, tb.u2().bn(), true, branchesFrozen);
            Unit u3 = unit(v, tb.u3().conv(), tb.u3().bn(), false);
            Unit ds = tb.downsample() == null ? null : unit(v, tb.downsample().conv(), tb.downsample().bn(), false);
            boolean f = u1.frozen();
            if (u2.frozen() != f || u3.frozen() != f || (ds != null && ds.frozen() != f)) {
                throw new IllegalStateException(p + " is partly frozen");
            }
            return new Block(u1, u2, u3, ds);
        }

        private static Unit unit(Map<String, GraphVertex> v, String conv, String bn, boolean relu) {
            if (!(layer(v, conv) instanceof ConvolutionLayer c) || !plainConv(c)) {
                throw new IllegalStateException(conv + " is not a plain convolution (with bias or dropout, or not NCHW/truncate)");
            }
            int[] k = c.getKernelSize();
            int[] s = c.getStride();
            int[] p = c.getPadding();
            int[] d = c.getDilation();
            Conv cv = new Conv(List.of(conv), c.getNOut(), c.getNIn(), 1, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1]);
            return bnUnit(v, cv, bn, relu, frozen(v, conv));
        }

        private static Unit bnUnit(Map<String, GraphVertex> v, Conv c, String bn, boolean relu, boolean frozen) {
            if (!(layer(v, bn) instanceof BatchNormalization b) || b.isLockGammaBeta() || b.isUseLogStd()
                    || !b.isMinibatch() || b.getIDropout() != null || !plainGradients(b)) {
                throw new IllegalStateException(bn + " is not a batch norm storing its variance (locked gamma and beta, or dropout)");
            }
            if (frozen(v, bn) != frozen) {
                throw new IllegalStateException(bn + " is frozen and its convolution is not, or the reverse");
            }
            return new Unit(c, bn, b.getEps(), b.getDecay(), relu, frozen);
        }

        private static Conv grouped(Map<String, GraphVertex> v, List<String> branches) {
            ConvolutionLayer first = null;
            for (String br : branches) {
                if (!(layer(v, br) instanceof ConvolutionLayer c) || !plainConv(c)) {
                    throw new IllegalStateException(br + " is not a plain convolution (with bias or dropout, or not NCHW/truncate)");
                }
                if (first != null && (!Arrays.equals(c.getKernelSize(), first.getKernelSize())
                        || !Arrays.equals(c.getStride(), first.getStride())
                        || !Arrays.equals(c.getPadding(), first.getPadding())
                        || !Arrays.equals(c.getDilation(), first.getDilation())
                        || c.getNIn() != first.getNIn() || c.getNOut() != first.getNOut())) {
                    throw new IllegalStateException(br + ": the group branches differ in shape");
                }
                first = c;
            }
            int g = branches.size();
            int[] k = first.getKernelSize();
            int[] s = first.getStride();
            int[] p = first.getPadding();
            int[] d = first.getDilation();
            return new Conv(List.copyOf(branches), first.getNOut() * g, first.getNIn() * g, g, k[0], k[1], s[0], s[1],
                    p[0], p[1], d[0], d[1]);
        }

        private static boolean plainConv(ConvolutionLayer c) {
            // DL4J's own class or the runtime's (not its 1-D, depthwise or transposed subclasses)
            boolean known = c.getClass() == ConvolutionLayer.class
                    || c.getClass().getPackageName().startsWith("dev.resnext.");
            return known && !c.hasBias() && c.getConvolutionMode() == ConvolutionMode.Truncate
                    && c.getCnn2dDataFormat() == CNN2DFormat.NCHW && c.getActivationFn() instanceof ActivationIdentity
                    && c.getIDropout() == null && plainGradients(c);
        }

        private static boolean plainGradients(BaseLayer l) {
            return l.getGradientNormalization() == null || l.getGradientNormalization() == GradientNormalization.None;
        }
    }

    private static org.deeplearning4j.nn.conf.layers.Layer layer(Map<String, GraphVertex> v, String name) {
        return GraphPatterns.layer(v, name);
    }

    private static boolean frozen(Map<String, GraphVertex> v, String name) {
        return GraphPatterns.frozen(v, name);
    }

    private static boolean isRelu(org.deeplearning4j.nn.conf.layers.Layer l) {
        return GraphPatterns.isPlainRelu(l) && l.getIDropout() == null;
    }

    // ------------------------------------------------------------------------------------------
    // buffers that outlive one input shape

    /**
     * Native buffers by role, kept across input shapes and grown when a larger shape needs more:
     * a job's full batches and its last, smaller batch use the same memory.
     */
    private static final class Arena implements AutoCloseable {
        private final Map<Object, memory> raw = new HashMap<>();
        private final Map<Object, Long> bytes = new HashMap<>();
        int compiles;
        // New buffers are first touched (the kernel maps and zeroes their pages) on the background
        // thread while the plan still compiles, once DL4J's updater is built there: the second core
        // is otherwise idle then, and the first forward pass finds them mapped. Whatever is left
        // when the compile ends is first touched by the kernels, as before.
        private java.util.concurrent.LinkedBlockingQueue<Pointer> toTouch;
        private volatile boolean stopTouching;
        private java.util.concurrent.Future<?> toucher;

        void startTouching() {
            toTouch = new java.util.concurrent.LinkedBlockingQueue<>();
            stopTouching = false;
            java.util.concurrent.LinkedBlockingQueue<Pointer> q = toTouch;
            toucher = BACKGROUND.submit(() -> {
                try {
                    while (!stopTouching) {
                        Pointer p = q.poll(5, java.util.concurrent.TimeUnit.MILLISECONDS);
                        if (p != null) {
                            Pointer.memset(p, 0, p.limit());
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }

        void stopTouching() {
            if (toucher != null) {
                stopTouching = true;
                try {
                    toucher.get();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                } finally {
                    toucher = null;
                    toTouch = null;
                }
            }
        }

        Pointer get(Object key, long size) {
            Long have = bytes.get(key);
            if (have == null || have < size) {
                memory old = raw.remove(key);
                if (old != null) {
                    old.releaseReference();
                }
                try (PointerScope scope = new PointerScope()) {
                    memory m = new memory(new memory.desc(new long[] {Math.max(1, size)}, memory.data_type.u8,
                            memory.format_tag.a), OneDnn.engine());
                    m.retainReference();
                    raw.put(key, m);
                    if (toTouch != null) {
                        toTouch.add(new Pointer(m.get_data_handle()).limit(Math.max(1, size)));
                    }
                }
                bytes.put(key, size);
            }
            return raw.get(key).get_data_handle();
        }

        String describe() {
            Map<String, Long> byKind = new java.util.TreeMap<>();
            bytes.forEach((k, v) -> byKind.merge(String.valueOf(k).replaceAll("[0-9]+$", "#"), v, Long::sum));
            return byKind.toString();
        }

        long totalBytes() {
            return bytes.values().stream().mapToLong(Long::longValue).sum();
        }

        @Override
        public void close() {
            raw.values().forEach(Pointer::releaseReference);
            raw.clear();
            bytes.clear();
        }
    }

    // ------------------------------------------------------------------------------------------
    // one input shape

    /** A tensor: its layout and its memory. */
    private record T(memory.desc desc, memory mem, Object key) {
    }

    /** One thing the step does: a primitive with its arguments, or Java work between primitives. */
    private record Exec(primitive prim, IntMemoryMap args, java.util.function.Consumer<ComputationGraph> java) {
    }

    private static final boolean AVX512 = OneDnn.cpuHas("avx512f");

    private static final java.util.concurrent.ExecutorService BACKGROUND = java.util.concurrent.Executors
            .newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "training-plan-updater");
                t.setDaemon(true);
                return t;
            });

    // forward-only scratch shares the backward's buffers: the forward is over before the backward
    // writes them, and each is written before it is read
    private static final String FWD_SRC = "t3";
    private static final String FWD_PRE = "t4";
    private static final String FWD_SHORTCUT = "t1";
    private static final String FWD_ACT = "t2";

    private static final class Compiled implements AutoCloseable {
        final long[] inShape;
        final INDArray gradientView;
        final Gradient gradient;
        final List<Exec> forward = new ArrayList<>();
        final List<Exec> backward = new ArrayList<>();
        final List<java.util.function.Consumer<ComputationGraph>> bind = new ArrayList<>();
        final dev.resnext.backend.KeptNatives kept = new dev.resnext.backend.KeptNatives();
        final Map<String, Integer> impls = new java.util.TreeMap<>();
        final Arena arena;
        int unique;
        memory inputMem;
        INDArray pooled;
        INDArray dPooled;
        final long batch;
        long channels;

        Compiled(Net n, ComputationGraph graph, long[] inShape, Arena arena) {
            long t0 = System.nanoTime();
            requireBatchNormLayout(graph, n);
            building = graph;
            this.inShape = inShape.clone();
            this.arena = arena;
            this.batch = inShape[0];
            this.gradientView = graph.getFlattenedGradients();
            this.gradient = gradientMap(graph);
            this.net = n;
            try (PointerScope scope = new PointerScope()) {
                memory.desc inDesc = keep(new memory.desc(inShape, memory.data_type.f32, memory.format_tag.nchw));
                inputMem = keep(new memory(inDesc, OneDnn.engine(), new Pointer()));
                T input = new T(inDesc, inputMem, "input");
                long[] shape = inShape.clone();

                // stem: conv, bn+relu, max pool
                // with a max pool after it, the stem's output is read by nothing in the backward pass
                // (the pool's gradient uses its own mask)
                UnitOut stem = unitForward(n.stem, input, shape, n.pool != null ? FWD_ACT : null);
                T x = stem.out;
                T stemOut = x;
                PoolOut pool = null;
                if (n.pool != null) {
                    pool = maxPool(n.pool, x, shape);
                    x = pool.dst;
                }
                List<BlockOut> outs = new ArrayList<>();
                for (Block b : n.blocks) {
                    BlockOut bo = blockForward(b, x, shape);
                    outs.add(bo);
                    x = bo.out;
                }
                channels = shape[1];
                // global average pooling to a plain [N, C]
                long[] pdims = {shape[0], shape[1], 1, 1};
                pooling_forward.desc gpd = new pooling_forward.desc(dnnl.prop_kind.forward_training,
                        dnnl.algorithm.pooling_avg_exclude_padding, x.desc, any(pdims), new long[] {1, 1},
                        new long[] {shape[2], shape[3]}, new long[] {0, 0}, new long[] {0, 0});
                pooling_forward.primitive_desc gppd = keep(new pooling_forward.primitive_desc(gpd, OneDnn.engine()));
                T gp = buffer(keep(gppd.dst_desc()), "gp");
                add(forward, keep(new pooling_forward(gppd)), Map.of(dnnl.DNNL_ARG_SRC, x.mem, dnnl.DNNL_ARG_DST, gp.mem));
                pooled = Nd4j.createUninitializedDetached(DataType.FLOAT, batch, channels);
                dPooled = Nd4j.createUninitializedDetached(DataType.FLOAT, batch, channels);
                memory.desc plainPooled = keep(new memory.desc(pdims, memory.data_type.f32, memory.format_tag.nchw));
                memory pooledMem = keep(OneDnn.bind(plainPooled, pooled));
                memory dPooledMem = keep(OneDnn.bind(plainPooled, dPooled));
                reorderInto(forward, gp, new T(plainPooled, pooledMem, "pooled"));
                classifier(graph, n);

                // ---- backward, from the head down
                classifierBackward();
                T dgp = buffer(gp.desc, "dgp");
                reorderInto(backward, new T(plainPooled, dPooledMem, "dPooled"), dgp);
                pooling_backward.desc gbd = new pooling_backward.desc(dnnl.algorithm.pooling_avg_exclude_padding,
                        x.desc, gp.desc, new long[] {1, 1}, new long[] {shape[2], shape[3]}, new long[] {0, 0},
                        new long[] {0, 0});
                pooling_backward.primitive_desc gbpd = keep(new pooling_backward.primitive_desc(gbd, OneDnn.engine(),
                        gppd));
                T g = buffer(x.desc, "gA");
                add(backward, keep(new pooling_backward(gbpd)),
                        Map.of(dnnl.DNNL_ARG_DIFF_DST, dgp.mem, dnnl.DNNL_ARG_DIFF_SRC, g.mem));
                // frozen layers are a prefix: the backward pass ends at the first trainable block
                int firstTrainable = 0;
                while (firstTrainable < n.blocks.size() && n.blocks.get(firstTrainable).frozen()) {
                    firstTrainable++;
                }
                for (int i = outs.size() - 1; i >= firstTrainable; i--) {
                    boolean inputGradient = i > firstTrainable || !n.stem.frozen();
                    g = blockBackward(outs.get(i), g, "gA".equals(g.key()) ? "gB" : "gA", inputGradient);
                }
                if (!n.stem.frozen()) {
                    if (pool != null) {
                        T d = buffer(stemOut.desc, "gA".equals(g.key()) ? "gB" : "gA");
                        poolBackward(pool, g, d);
                        g = d;
                    }
                    unitBackward(stem, g, null, java.util.Set.of());
                }
                // frozen layers' gradients stay zero: DL4J's no-op updater passes them on as the step
                for (UnitOut u : frozenUnits) {
                    for (String name : u.unit.conv().layers()) {
                        gradientViews(graph.getLayer(name)).values().forEach(a -> a.assign(0));
                    }
                    gradientViews(graph.getLayer(u.unit.bn())).values().forEach(a -> a.assign(0));
                }
                placeShared();
            } finally {
                building = null;
            }
            // once at info: an epoch's last, smaller batch compiles again (from oneDNN's cache, in ms)
            boolean first = arena.compiles++ == 0;
            String msg = "training plan for input {}: {} forward and {} backward steps, {} MB of buffers, compiled in {} ms";
            Object[] args = {Arrays.toString(inShape), forward.size(), backward.size(), arena.totalBytes() >> 20,
                    (System.nanoTime() - t0) / 1_000_000};
            if (first) {
                log.info(msg, args);
            } else {
                log.debug(msg, args);
            }
            log.debug("training plan kernels: {}", impls);
            log.debug("training plan buffers: {}", arena.describe());
        }

        private static OneDnnGroupedConvolution.Geometry geometry(Conv c, long[] shape) {
            return OneDnnGroupedConvolution.Geometry.of(new long[] {shape[0], c.inChannels(), shape[2], shape[3]},
                    c.outChannels(), c.groups(), c.kh(), c.kw(), c.sh(), c.sw(), c.ph(), c.pw(), c.dh(), c.dw());
        }

        // ---- building blocks

        // arrays whose memory oneDNN memories point to: alive as long as the plan
        private final List<INDArray> heldArrays = new ArrayList<>();

        private INDArray held(INDArray a) {
            heldArrays.add(a);
            return a;
        }

        private <P extends Pointer> P keep(P p) {
            return kept.keep(p);
        }

        private static memory.desc any(long[] dims) {
            return new memory.desc(dims, memory.data_type.f32, memory.format_tag.any);
        }

        /** A tensor of {@code desc} in the arena's buffer {@code key} (null: a buffer of its own). */
        private T buffer(memory.desc desc, Object key) {
            if (key == null) {
                Object k = "u" + (unique++);
                return new T(desc, keep(new memory(desc, OneDnn.engine(), arena.get(k, desc.get_size()))), k);
            }
            // a shared buffer: placed once every tensor it will hold is known (placeShared), so that
            // it is exactly as large as the largest of them
            memory m = keep(new memory(desc, OneDnn.engine(), new Pointer()));
            shared.computeIfAbsent(key, k -> new ArrayList<>()).add(m);
            sharedBytes.merge(key, desc.get_size(), Math::max);
            return new T(desc, m, key);
        }

        private final Map<Object, List<memory>> shared = new LinkedHashMap<>();
        private final Map<Object, Long> sharedBytes = new HashMap<>();

        private void placeShared() {
            for (Map.Entry<Object, List<memory>> e : shared.entrySet()) {
                Pointer p = arena.get(e.getKey(), sharedBytes.get(e.getKey()));
                for (memory m : e.getValue()) {
                    m.set_data_handle(p);
                }
            }
        }

        private void add(List<Exec> list, primitive p, Map<Integer, memory> args) {
            IntMemoryMap m = keep(new IntMemoryMap());
            for (Map.Entry<Integer, memory> e : args.entrySet()) {
                m.put(e.getKey(), e.getValue());
            }
            list.add(new Exec(p, m, null));
        }

        private void reorderInto(List<Exec> list, T from, T to) {
            reorder.primitive_desc rpd = new reorder.primitive_desc(OneDnn.engine(), from.desc, OneDnn.engine(), to.desc);
            impls.merge("reorder " + rpd.impl_info_str().getString(), 1, Integer::sum);
            add(list, keep(new reorder(rpd)), Map.of(dnnl.DNNL_ARG_FROM, from.mem, dnnl.DNNL_ARG_TO, to.mem));
        }

        /** {@code t} in layout {@code want}: itself, or a copy made by a reorder appended to {@code list}. */
        private T as(List<Exec> list, T t, memory.desc want, Object key) {
            if (want.equals(t.desc)) {
                return t;
            }
            T r = buffer(want, key);
            reorderInto(list, t, r);
            return r;
        }

        // ---- forward pieces

        /** What a conv + bn (+ relu) unit keeps for its backward pass. */
        private final class UnitOut {
            Unit unit;
            boolean stem;       // reads the network's input: no input gradient
            boolean noInputGradient; // the layers before are frozen: no input gradient either
            T srcOrig;          // the convolution's input as its producer made it (forward only if srcProducer is set)
            UnitOut srcProducer; // the unit whose output is this convolution's input, made again in the backward pass
            T src;              // the convolution's input, in the convolution's layout (forward only)
            memory.desc convDst; // the convolution's output layout (conv is a blocked copy where they differ)
            T conv;             // the convolution's output (batch norm's input)
            T out;              // the batch norm's output (after ReLU when fused)
            T ws;               // the fused ReLU's mask
            convolution_forward.primitive_desc convPd;
            batch_normalization_forward.primitive_desc bnPd;
            memory wUser;       // plain (g)oihw weights: the parameter view, or a gathered copy
            memory.desc wPlain;
            T wConv;            // weights in the convolution's layout
            memory.desc rows2;  // [2, C]: scale-shift, the batch statistics and their gradients
            memory scaleShift;  // the layer's gamma and beta
            memory mean;
            memory var;
            INDArray stats;     // the batch's mean and variance, as rows (absent when frozen)
            long[] srcDims;
            long[] dstDims;
            long[] wDims;
            long[] padR;
        }

        private final List<UnitOut> frozenUnits = new ArrayList<>();

        private UnitOut unitForward(Unit u, T src, long[] shape, Object outKey) {
            Conv c = u.conv();
            OneDnnGroupedConvolution.Geometry geo = geometry(c, shape);
            UnitOut o = new UnitOut();
            o.unit = u;
            o.stem = src.mem == inputMem;
            if (u.frozen()) {
                frozenUnits.add(o);
            }
            o.srcDims = new long[] {shape[0], shape[1], shape[2], shape[3]};
            o.dstDims = geo.dstDims();
            o.wDims = c.groups() == 1 ? new long[] {c.outChannels(), c.inChannels(), c.kh(), c.kw()} : geo.weightDims();
            o.padR = geo.padRight();
            int flags = dnnl.normalization_flags.use_scale_shift.value;
            if (u.relu()) {
                flags |= dnnl.normalization_flags.fuse_norm_relu.value;
            }
            if (u.frozen()) {
                // a frozen batch norm runs in inference mode on its running statistics, as DL4J's
                // FrozenLayer runs it; no backward pass reaches it
                flags |= dnnl.normalization_flags.use_global_stats.value;
            }
            // layouts: the input's own (no reorder) where the kernel for it is the best one, else
            // oneDNN's choice; and an output layout the batch norm has a fast kernel for (oneDNN
            // picks narrow blocks for a grouped convolution's narrow groups, on which batch norm
            // only has its reference or a narrower-ISA kernel)
            memory.desc blocked = keep(new memory.desc(o.dstDims, memory.data_type.f32, memory.format_tag.nChw16c));
            convolution_forward.primitive_desc pd = null;
            memory.desc[][] tries = {{src.desc, any(o.dstDims)}, {any(o.srcDims), any(o.dstDims)},
                    {src.desc, blocked}, {any(o.srcDims), blocked}};
            for (memory.desc[] t : tries) {
                convolution_forward.primitive_desc cand = convPd(c, t[0], o.wDims, t[1], o.padR);
                if (good(cand) && good(bnPd(cand.dst_desc(), (float) u.eps(), flags))) {
                    pd = cand;
                    break;
                }
                if (pd == null && good(cand)) {
                    pd = cand;
                }
            }
            if (pd == null) {
                pd = convPd(c, any(o.srcDims), o.wDims, any(o.dstDims), o.padR);
            }
            keep(pd);
            impls.merge("conv fwd " + pd.impl_info_str().getString(), 1, Integer::sum);
            o.convPd = pd;
            // a reordered input is used once here and made again for the weight gradient
            o.srcOrig = src;
            o.src = as(forward, src, keep(pd.src_desc()), FWD_SRC);
            // weights: plain from the graph, reordered to the kernel's layout every step
            o.wPlain = keep(new memory.desc(o.wDims, memory.data_type.f32,
                    c.groups() == 1 ? memory.format_tag.oihw : memory.format_tag.goihw));
            if (c.groups() == 1) {
                o.wUser = keep(new memory(o.wPlain, OneDnn.engine(), new Pointer()));
                String name = c.layers().get(0);
                memory wu = o.wUser;
                bind.add(gr -> wu.set_data_handle(OneDnn.pointer(gr.getLayer(name).getParam("W"))));
            } else {
                T gathered = buffer(o.wPlain, null);
                o.wUser = gathered.mem;
                long per = o.wPlain.get_size() / c.groups();
                List<String> names = c.layers();
                memory wu = o.wUser;
                bind.add(gr -> {
                    Pointer base = wu.get_data_handle();
                    for (int i = 0; i < names.size(); i++) {
                        Pointer.memcpy(new Pointer(base).position(base.position() + i * per),
                                OneDnn.pointer(gr.getLayer(names.get(i)).getParam("W")), per);
                    }
                });
            }
            o.wConv = as(forward, new T(o.wPlain, o.wUser, "w"), keep(pd.weights_desc()), "wf");
            // batch norm (+ ReLU): in the convolution's layout, or a blocked copy where batch norm has
            // no fast kernel for that one (the copy is what its backward reads; the original is
            // only a step's scratch)
            memory.desc dst = keep(pd.dst_desc());
            batch_normalization_forward.primitive_desc bnPd = bnPd(dst, (float) u.eps(), flags);
            boolean copy = !good(bnPd) && !dst.equals(blocked);
            T conv = buffer(dst, copy ? FWD_PRE : null);
            add(forward, keep(new convolution_forward(pd)), Map.of(dnnl.DNNL_ARG_SRC, o.src.mem,
                    dnnl.DNNL_ARG_WEIGHTS, o.wConv.mem, dnnl.DNNL_ARG_DST, conv.mem));
            o.convDst = conv.desc;
            if (copy) {
                conv = as(forward, conv, blocked, null);
                bnPd = bnPd(conv.desc, (float) u.eps(), flags);
            }
            o.conv = conv;
            o.bnPd = keep(bnPd);
            impls.merge("bnorm fwd " + o.bnPd.impl_info_str().getString(), 1, Integer::sum);
            long ch = o.dstDims[1];
            memory.desc ssDesc = keep(new memory.desc(new long[] {2, ch}, memory.data_type.f32, memory.format_tag.nc));
            o.rows2 = ssDesc;
            memory.desc stDesc = keep(OneDnn.plain(ch));
            // gamma and beta lie side by side in DL4J's parameter view (checked when compiling), as
            // oneDNN's [2, C] scale-shift: batch norm reads them in place; a frozen batch norm its
            // running statistics too, else it writes the batch's into a [2, C] array of its own
            o.scaleShift = keep(new memory(ssDesc, OneDnn.engine(), new Pointer()));
            if (u.frozen()) {
                o.mean = keep(new memory(stDesc, OneDnn.engine(), new Pointer()));
                o.var = keep(new memory(stDesc, OneDnn.engine(), new Pointer()));
            } else {
                o.stats = held(Nd4j.createUninitializedDetached(DataType.FLOAT, 2, ch));
                Pointer st = OneDnn.pointer(o.stats);
                o.mean = keep(new memory(stDesc, OneDnn.engine(), st));
                o.var = keep(new memory(stDesc, OneDnn.engine(), new Pointer(st).position(st.position() + 4 * ch)));
            }
            String bn = u.bn();
            memory ss = o.scaleShift;
            memory runMean = o.mean;
            memory runVar = o.var;
            boolean frozenBn = u.frozen();
            bind.add(gr -> {
                Layer l = gr.getLayer(bn);
                ss.set_data_handle(OneDnn.pointer(l.getParam("gamma")));
                if (frozenBn) {
                    runMean.set_data_handle(OneDnn.pointer(l.getParam("mean")));
                    runVar.set_data_handle(OneDnn.pointer(l.getParam("var")));
                }
            });
            T out = buffer(conv.desc, outKey);
            Map<Integer, memory> args = new HashMap<>(Map.of(dnnl.DNNL_ARG_SRC, conv.mem, dnnl.DNNL_ARG_DST, out.mem,
                    dnnl.DNNL_ARG_SCALE_SHIFT, o.scaleShift, dnnl.DNNL_ARG_MEAN, o.mean,
                    dnnl.DNNL_ARG_VARIANCE, o.var));
            if (u.relu() && !u.frozen()) {
                o.ws = buffer(keep(o.bnPd.workspace_desc()), null);
                args.put(dnnl.DNNL_ARG_WORKSPACE, o.ws.mem);
            }
            add(forward, keep(new batch_normalization_forward(o.bnPd)), args);
            o.out = out;
            System.arraycopy(o.dstDims, 0, shape, 0, 4);
            return o;
        }

        private static batch_normalization_forward.primitive_desc bnPd(memory.desc data, float eps, int flags) {
            boolean inference = (flags & dnnl.normalization_flags.use_global_stats.value) != 0;
            batch_normalization_forward.desc bd = new batch_normalization_forward.desc(
                    (inference ? dnnl.prop_kind.forward_inference : dnnl.prop_kind.forward_training).value, data, eps,
                    flags);
            return new batch_normalization_forward.primitive_desc(bd, OneDnn.engine());
        }

        /**
         * How fast a kernel is likely to be: the widest-ISA JIT kernel (3), a narrower JIT one (2),
         * GEMM-based (1), the reference (0).
         */
        private static int rank(org.bytedeco.dnnl.primitive_desc pd) {
            String impl = pd.impl_info_str().getString();
            if (impl.startsWith("ref") || impl.contains("_ref")) {
                return 0;
            }
            if (impl.contains("gemm")) {
                return 1;
            }
            return good(pd) ? 3 : 2;
        }

        /** A kernel worth running: not the reference one, and of the widest vector ISA this CPU has. */
        private static boolean good(org.bytedeco.dnnl.primitive_desc pd) {
            String impl = pd.impl_info_str().getString();
            return !impl.startsWith("ref") && !impl.contains("_ref") && (!AVX512 || !impl.contains("avx2")
                    && !impl.contains(":sse41"));
        }

        private convolution_forward.primitive_desc convPd(Conv c, memory.desc src, long[] wDims, memory.desc dst,
                                                           long[] padR) {
            convolution_forward.desc d = new convolution_forward.desc(dnnl.prop_kind.forward_training,
                    dnnl.algorithm.convolution_direct, src, any(wDims), dst, new long[] {c.sh(), c.sw()},
                    new long[] {c.dh() - 1, c.dw() - 1}, new long[] {c.ph(), c.pw()}, padR);
            return new convolution_forward.primitive_desc(d, OneDnn.engine());
        }

        private static boolean isReference(org.bytedeco.dnnl.primitive_desc pd) {
            return pd.impl_info_str().getString().startsWith("ref");
        }

        private final class PoolOut {
            T src;
            T dst;
            T ws;
            pooling_forward.primitive_desc pd;
            int[] p;
            long[] padR;
            long[] dstDims;
        }

        private PoolOut maxPool(int[] p, T src, long[] shape) {
            PoolOut o = new PoolOut();
            long oh = (shape[2] + 2L * p[4] - p[0]) / p[2] + 1;
            long ow = (shape[3] + 2L * p[5] - p[1]) / p[3] + 1;
            o.dstDims = new long[] {shape[0], shape[1], oh, ow};
            o.padR = new long[] {(oh - 1) * p[2] + p[0] - shape[2] - p[4], (ow - 1) * p[3] + p[1] - shape[3] - p[5]};
            o.p = p;
            pooling_forward.desc d = new pooling_forward.desc(dnnl.prop_kind.forward_training,
                    dnnl.algorithm.pooling_max, src.desc, any(o.dstDims), new long[] {p[2], p[3]},
                    new long[] {p[0], p[1]}, new long[] {p[4], p[5]}, o.padR);
            o.pd = keep(new pooling_forward.primitive_desc(d, OneDnn.engine()));
            impls.merge("pool fwd " + o.pd.impl_info_str().getString(), 1, Integer::sum);
            o.src = src;
            o.dst = buffer(keep(o.pd.dst_desc()), null);
            o.ws = buffer(keep(o.pd.workspace_desc()), null);
            add(forward, keep(new pooling_forward(o.pd)), Map.of(dnnl.DNNL_ARG_SRC, src.mem,
                    dnnl.DNNL_ARG_DST, o.dst.mem, dnnl.DNNL_ARG_WORKSPACE, o.ws.mem));
            shape[2] = oh;
            shape[3] = ow;
            return o;
        }

        private void poolBackward(PoolOut o, T dDst, T dSrc) {
            int[] p = o.p;
            pooling_backward.desc d = new pooling_backward.desc(dnnl.algorithm.pooling_max, o.src.desc, o.dst.desc,
                    new long[] {p[2], p[3]}, new long[] {p[0], p[1]}, new long[] {p[4], p[5]}, o.padR);
            pooling_backward.primitive_desc pd = keep(new pooling_backward.primitive_desc(d, OneDnn.engine(), o.pd));
            impls.merge("pool bwd " + pd.impl_info_str().getString(), 1, Integer::sum);
            T dd = as(backward, dDst, keep(pd.diff_dst_desc()), pick(dDst.key(), dSrc.key()));
            add(backward, keep(new pooling_backward(pd)), Map.of(dnnl.DNNL_ARG_DIFF_DST, dd.mem,
                    dnnl.DNNL_ARG_DIFF_SRC, dSrc.mem, dnnl.DNNL_ARG_WORKSPACE, o.ws.mem));
        }

        /** What a block keeps for its backward pass. */
        private final class BlockOut {
            T in;
            UnitOut u1;
            UnitOut u2;
            UnitOut u3;
            UnitOut ds;
            T out;
            eltwise_forward.primitive_desc reluPd;
        }

        private BlockOut blockForward(Block b, T x, long[] shape) {
            BlockOut o = new BlockOut();
            o.in = x;
            long[] inShape = shape.clone();
            // relu1's and relu2's outputs are not kept: the backward pass makes them again from the
            // kept convolution outputs and batch statistics (a batch norm forward, about 2% of a
            // step) when the next convolution's weight gradient needs them: a quarter less memory
            o.u1 = unitForward(b.u1(), x, shape, FWD_ACT);
            o.u2 = unitForward(b.u2(), o.u1.out, shape, FWD_ACT);
            o.u2.srcProducer = o.u1;
            o.u3 = unitForward(b.u3(), o.u2.out, shape, null);
            o.u3.srcProducer = o.u2;
            T shortcut = x;
            if (b.downsample() != null) {
                o.ds = unitForward(b.downsample(), x, inShape.clone(), FWD_SHORTCUT);
                shortcut = o.ds.out;
            }
            // out = relu(bn3 + shortcut), one kernel
            T s = as(forward, shortcut, o.u3.out.desc, null);
            primitive_attr attr = keep(new primitive_attr());
            post_ops ops = keep(new post_ops());
            ops.append_eltwise(1.0f, dnnl.algorithm.eltwise_relu, 0f, 0f);
            attr.set_post_ops(ops);
            binary.desc bd = new binary.desc(dnnl.algorithm.binary_add, o.u3.out.desc, s.desc, o.u3.out.desc);
            binary.primitive_desc bpd = keep(new binary.primitive_desc(bd, attr, OneDnn.engine()));
            impls.merge("binary " + bpd.impl_info_str().getString(), 1, Integer::sum);
            o.out = o.u3.out; // bn3 wrote into the block's output buffer: the sum goes in place
            add(forward, keep(new binary(bpd)), Map.of(dnnl.DNNL_ARG_SRC_0, o.u3.out.mem, dnnl.DNNL_ARG_SRC_1, s.mem,
                    dnnl.DNNL_ARG_DST, o.out.mem));
            eltwise_forward.desc ed = new eltwise_forward.desc(dnnl.prop_kind.forward_training.value,
                    dnnl.algorithm.eltwise_relu_use_dst_for_bwd.value, o.out.desc, 0f, 0f);
            o.reluPd = keep(new eltwise_forward.primitive_desc(ed, OneDnn.engine()));
            return o;
        }

        // ---- backward pieces

        /**
         * The gradient of a block's input from the gradient of its output ({@code dOut}, which is
         * overwritten); the result lives in the arena's buffer {@code outKey}.
         */
        private T blockBackward(BlockOut o, T dOut, String outKey, boolean inputGradient) {
            // ReLU of the sum, in place: the sum's gradient, which both branches read
            T g = as(backward, dOut, o.out.desc, pick(dOut.key(), outKey));
            eltwise_backward.desc ed = new eltwise_backward.desc(dnnl.algorithm.eltwise_relu_use_dst_for_bwd.value,
                    o.out.desc, o.out.desc, 0f, 0f);
            eltwise_backward.primitive_desc epd = keep(new eltwise_backward.primitive_desc(ed, OneDnn.engine(),
                    o.reluPd));
            impls.merge("relu bwd " + epd.impl_info_str().getString(), 1, Integer::sum);
            add(backward, keep(new eltwise_backward(epd)), Map.of(dnnl.DNNL_ARG_DST, o.out.mem,
                    dnnl.DNNL_ARG_DIFF_DST, g.mem, dnnl.DNNL_ARG_DIFF_SRC, g.mem));
            T dIn = inputGradient ? buffer(o.in.desc, outKey) : null;
            java.util.Set<Object> live = java.util.Set.of(g.key(), outKey);
            T d2 = unitBackward(o.u3, g, null, live);
            T d1 = unitBackward(o.u2, d2, null, live);
            o.u1.noInputGradient = !inputGradient;
            unitBackward(o.u1, d1, dIn, live);
            if (!inputGradient) {
                if (o.ds != null) {
                    o.ds.noInputGradient = true;
                    unitBackward(o.ds, g, null, java.util.Set.of(outKey));
                }
                return null;
            }
            T s;
            if (o.ds == null) {
                s = as(backward, g, o.in.desc, pick(g.key(), outKey));
            } else {
                T ds = unitBackward(o.ds, g, null, java.util.Set.of(outKey));
                s = as(backward, ds, o.in.desc, pick(ds.key(), outKey));
            }
            binary.desc bd = new binary.desc(dnnl.algorithm.binary_add, dIn.desc, s.desc, dIn.desc);
            binary.primitive_desc bpd = keep(new binary.primitive_desc(bd, OneDnn.engine()));
            add(backward, keep(new binary(bpd)), Map.of(dnnl.DNNL_ARG_SRC_0, dIn.mem, dnnl.DNNL_ARG_SRC_1, s.mem,
                    dnnl.DNNL_ARG_DST, dIn.mem));
            return dIn;
        }

        /**
         * A unit's output again, into the scratch buffer {@code key}: its batch norm (and ReLU) on the
         * kept convolution output with the batch statistics of the forward pass.
         */
        private T remake(UnitOut p, Object key) {
            int flags = dnnl.normalization_flags.use_scale_shift.value | dnnl.normalization_flags.use_global_stats.value;
            if (p.unit.relu()) {
                flags |= dnnl.normalization_flags.fuse_norm_relu.value;
            }
            batch_normalization_forward.desc d = new batch_normalization_forward.desc(
                    dnnl.prop_kind.forward_inference.value, p.conv.desc, (float) p.unit.eps(), flags);
            batch_normalization_forward.primitive_desc pd = keep(
                    new batch_normalization_forward.primitive_desc(d, OneDnn.engine()));
            impls.merge("bnorm remake " + pd.impl_info_str().getString(), 1, Integer::sum);
            T r = buffer(p.conv.desc, key);
            add(backward, keep(new batch_normalization_forward(pd)), Map.of(dnnl.DNNL_ARG_SRC, p.conv.mem,
                    dnnl.DNNL_ARG_DST, r.mem, dnnl.DNNL_ARG_SCALE_SHIFT, p.scaleShift, dnnl.DNNL_ARG_MEAN, p.mean,
                    dnnl.DNNL_ARG_VARIANCE, p.var));
            return r;
        }

        /** A shared scratch buffer other than the ones given. */
        private static Object pick(Object... avoid) {
            return pick(java.util.Set.of(), avoid);
        }

        private static Object pick(java.util.Set<Object> live, Object... avoid) {
            List<Object> no = new ArrayList<>(live);
            no.addAll(Arrays.asList(avoid));
            for (String k : List.of("t1", "t2", "t3", "t4", "t5", "t6")) {
                if (!no.contains(k)) {
                    return k;
                }
            }
            throw new IllegalStateException("no scratch buffer left");
        }

        /**
         * Batch norm (+ ReLU) and convolution backward: the weight, gamma and beta gradients into the
         * graph's gradient view, and the gradient of the unit's input into {@code into} (or a buffer
         * of the arena's {@code key}; null {@code into} and stem: none).
         */
        private T unitBackward(UnitOut o, T dOut, T into, java.util.Set<Object> live) {
            Unit u = o.unit;
            int flags = dnnl.normalization_flags.use_scale_shift.value;
            if (u.relu()) {
                flags |= dnnl.normalization_flags.fuse_norm_relu.value;
            }
            batch_normalization_backward.desc bd = new batch_normalization_backward.desc(dnnl.prop_kind.backward.value,
                    o.conv.desc, o.conv.desc, (float) u.eps(), flags);
            batch_normalization_backward.primitive_desc bpd = keep(new batch_normalization_backward.primitive_desc(bd,
                    OneDnn.engine(), o.bnPd));
            impls.merge("bnorm bwd " + bpd.impl_info_str().getString(), 1, Integer::sum);
            T dd = as(backward, dOut, o.conv.desc, pick(live, dOut.key()));
            // in place (oneDNN's batch norm backward allows it) unless the caller reads dOut again
            T dConv = live.contains(dd.key()) ? buffer(o.conv.desc, pick(live, dOut.key(), dd.key())) : dd;
            // gamma's and beta's gradients straight into the graph's gradient view (side by side there too)
            Map<String, INDArray> gv = gradientViews(building.getLayer(u.bn()));
            memory.desc two = o.rows2;
            memory dScaleShift = keep(OneDnn.bind(two, gv.get("gamma")));
            Map<Integer, memory> args = new HashMap<>(Map.of(dnnl.DNNL_ARG_SRC, o.conv.mem,
                    dnnl.DNNL_ARG_DIFF_DST, dd.mem, dnnl.DNNL_ARG_SCALE_SHIFT, o.scaleShift,
                    dnnl.DNNL_ARG_MEAN, o.mean, dnnl.DNNL_ARG_VARIANCE, o.var,
                    dnnl.DNNL_ARG_DIFF_SRC, dConv.mem, dnnl.DNNL_ARG_DIFF_SCALE_SHIFT, dScaleShift));
            if (u.relu()) {
                args.put(dnnl.DNNL_ARG_WORKSPACE, o.ws.mem);
            }
            add(backward, keep(new batch_normalization_backward(bpd)), args);
            // the running statistics' step, in DL4J's convention (the updater, a no-op for them,
            // subtracts it): (running - batch) * (1 - decay), for mean and variance in one kernel
            primitive_attr attr = keep(new primitive_attr());
            post_ops ops = keep(new post_ops());
            ops.append_eltwise(1.0f, dnnl.algorithm.eltwise_linear, (float) (1 - u.decay()), 0f);
            attr.set_post_ops(ops);
            binary.primitive_desc spd = keep(new binary.primitive_desc(
                    new binary.desc(dnnl.algorithm.binary_sub, two, two, two), attr, OneDnn.engine()));
            memory running = keep(new memory(two, OneDnn.engine(), new Pointer()));
            String bn = u.bn();
            bind.add(gr -> running.set_data_handle(OneDnn.pointer(gr.getLayer(bn).getParam("mean"))));
            add(backward, keep(new binary(spd)), Map.of(dnnl.DNNL_ARG_SRC_0, running,
                    dnnl.DNNL_ARG_SRC_1, keep(OneDnn.bind(two, o.stats)), dnnl.DNNL_ARG_DST,
                    keep(OneDnn.bind(two, gv.get("mean")))));
            // convolution: weight gradient, then the input's gradient
            Conv c = u.conv();
            // the activations' own layouts first; where oneDNN has no optimised kernel for them (the
            // grouped 3x3 of narrow groups), its own choice, then plain NCHW, with reorders around
            List<memory.desc[]> layouts = layoutsToTry(o.src.desc, o.convDst, dConv.desc, o.srcDims, o.dstDims);
            long[] strides = {c.sh(), c.sw()};
            long[] dilations = {c.dh() - 1, c.dw() - 1};
            long[] padL = {c.ph(), c.pw()};
            convolution_backward_weights.primitive_desc wpd = bestKernel(layouts, io ->
                    new convolution_backward_weights.primitive_desc(new convolution_backward_weights.desc(
                            dnnl.algorithm.convolution_direct, io[0], any(o.wDims), io[1], strides, dilations, padL,
                            o.padR), OneDnn.engine(), o.convPd), "conv bwd w", c.layers().get(0));
            T srcForW = o.srcOrig;
            if (o.srcProducer != null) {
                srcForW = remake(o.srcProducer, pick(live, dOut.key(), dd.key(), dConv.key()));
            }
            T wSrc = as(backward, srcForW, keep(wpd.src_desc()),
                    pick(live, dOut.key(), dd.key(), dConv.key(), srcForW.key()));
            T wDiffDst = as(backward, dConv, keep(wpd.diff_dst_desc()),
                    pick(live, dOut.key(), dd.key(), dConv.key(), wSrc.key()));
            memory.desc dwDesc = keep(wpd.diff_weights_desc());
            T dw = buffer(dwDesc, "dw");
            add(backward, keep(new convolution_backward_weights(wpd)), Map.of(dnnl.DNNL_ARG_SRC, wSrc.mem,
                    dnnl.DNNL_ARG_DIFF_DST, wDiffDst.mem, dnnl.DNNL_ARG_DIFF_WEIGHTS, dw.mem));
            // to the graph's gradient view (plain), branch by branch for a grouped convolution
            if (c.groups() == 1) {
                memory user = keep(new memory(o.wPlain, OneDnn.engine(), new Pointer()));
                String name = c.layers().get(0);
                backward.add(new Exec(null, null, gr -> user.set_data_handle(
                        OneDnn.pointer(gradientViews(gr.getLayer(name)).get("W")))));
                reorderInto(backward, dw, new T(o.wPlain, user, "dwUser"));
            } else {
                T plain = buffer(o.wPlain, "dwPlain");
                reorderInto(backward, dw, plain);
                long per = o.wPlain.get_size() / c.groups();
                List<String> names = c.layers();
                backward.add(new Exec(null, null, gr -> {
                    Pointer base = plain.mem.get_data_handle();
                    for (int i = 0; i < names.size(); i++) {
                        Pointer.memcpy(OneDnn.pointer(gradientViews(gr.getLayer(names.get(i))).get("W")),
                                new Pointer(base).position(base.position() + i * per), per);
                    }
                }));
            }
            if (o.stem || o.noInputGradient) {
                return null; // no gradient for the network's input, or for frozen layers before
            }
            convolution_backward_data.primitive_desc dpd = bestKernel(layouts, io ->
                    new convolution_backward_data.primitive_desc(new convolution_backward_data.desc(
                            dnnl.algorithm.convolution_direct, io[0], any(o.wDims), io[1], strides, dilations, padL,
                            o.padR), OneDnn.engine(), o.convPd), "conv bwd d", c.layers().get(0));
            T wData = as(backward, new T(o.wPlain, o.wUser, "w"), keep(dpd.weights_desc()), "wbd");
            // the batch norm's inputs are spent: only the caller's live buffers and dConv stay
            T result = into != null ? into : buffer(o.srcOrig.desc, pick(live, dConv.key()));
            T dDst = as(backward, dConv, keep(dpd.diff_dst_desc()), pick(live, dConv.key(), result.key()));
            memory.desc dSrcDesc = keep(dpd.diff_src_desc());
            if (dSrcDesc.equals(result.desc)) {
                add(backward, keep(new convolution_backward_data(dpd)), Map.of(dnnl.DNNL_ARG_DIFF_DST, dDst.mem,
                        dnnl.DNNL_ARG_WEIGHTS, wData.mem, dnnl.DNNL_ARG_DIFF_SRC, result.mem));
            } else {
                T tmp = buffer(dSrcDesc, pick(live, dConv.key(), result.key(), dDst.key()));
                add(backward, keep(new convolution_backward_data(dpd)), Map.of(dnnl.DNNL_ARG_DIFF_DST, dDst.mem,
                        dnnl.DNNL_ARG_WEIGHTS, wData.mem, dnnl.DNNL_ARG_DIFF_SRC, tmp.mem));
                reorderInto(backward, tmp, result);
            }
            return result;
        }

        /** The graph being compiled, while it is (not kept: the plan holds its graph weakly). */
        private ComputationGraph building;

        /**
         * The plan binds a batch norm's gamma and beta as one [2, C] array, and its mean and
         * variance too (parameters and gradients): DL4J's views [gamma, beta, mean, var] must be
         * one after the other in memory.
         */
        private static void requireBatchNormLayout(ComputationGraph graph, Net n) {
            List<Unit> units = new ArrayList<>(List.of(n.stem));
            for (Block b : n.blocks) {
                units.addAll(java.util.stream.Stream.of(b.u1(), b.u2(), b.u3(), b.downsample())
                        .filter(java.util.Objects::nonNull).toList());
            }
            for (Unit u : units) {
                Layer l = graph.getLayer(u.bn());
                adjacent(u.bn(), l.paramTable());
                if (!u.frozen()) {
                    adjacent(u.bn() + " (gradients)", l.conf().getLayer().initializer()
                            .getGradientsFromFlattened(l.conf(), l.getGradientsViewArray()));
                }
            }
        }

        private static void adjacent(String what, Map<String, INDArray> views) {
            String[] order = {"gamma", "beta", "mean", "var"};
            INDArray first = views.get(order[0]);
            for (int i = 0; i < order.length; i++) {
                INDArray a = views.get(order[i]);
                if (a == null || first == null || a.dataType() != DataType.FLOAT
                        || OneDnn.addressOf(a) != OneDnn.addressOf(first) + 4L * i * first.length()) {
                    throw new IllegalStateException("batch norm " + what + " is not laid out as [gamma, beta, mean, var]");
                }
            }
        }

        /**
         * The kernel made for the first of {@code layouts} that gets the widest-ISA one, else the
         * best-ranked of them all ({@link #rank}).
         */
        private <P extends org.bytedeco.dnnl.primitive_desc> P bestKernel(List<memory.desc[]> layouts,
                java.util.function.Function<memory.desc[], P> make, String what, String layer) {
            P best = null;
            for (memory.desc[] io : layouts) {
                P cand = keep(make.apply(io));
                if (best == null || rank(cand) > rank(best)) {
                    best = cand;
                }
                if (rank(best) == 3) {
                    break;
                }
            }
            if (isReference(best)) {
                log.info("training plan: reference kernel for {} of {}", what, layer);
            }
            impls.merge(what + " " + best.impl_info_str().getString(), 1, Integer::sum);
            return best;
        }

        /** (source, destination) layouts for a backward convolution, best first. */
        private List<memory.desc[]> layoutsToTry(memory.desc src, memory.desc dst, memory.desc dst2, long[] srcDims,
                                                 long[] dstDims) {
            return List.of(new memory.desc[] {src, dst}, new memory.desc[] {src, dst2},
                    new memory.desc[] {keep(any(srcDims)), keep(any(dstDims))},
                    new memory.desc[] {keep(new memory.desc(srcDims, memory.data_type.f32, memory.format_tag.nchw)),
                            keep(new memory.desc(dstDims, memory.data_type.f32, memory.format_tag.nchw))},
                    new memory.desc[] {keep(new memory.desc(srcDims, memory.data_type.f32, memory.format_tag.nhwc)),
                            keep(new memory.desc(dstDims, memory.data_type.f32, memory.format_tag.nhwc))});
        }

        // ---- the classifier: oneDNN inner products on plain arrays; softmax and loss in Java

        INDArray logits;
        INDArray dLogits;
        memory ipW;
        memory ipB;
        memory ipDW;
        memory ipDB;
        memory ipSrc;
        memory ipDiffSrc;
        memory ipDst;
        memory ipDiffDst;
        inner_product_forward.primitive_desc ipPd;

        /**
         * DL4J keeps a dense layer's weights as an f-ordered [in, out] array: in memory that is
         * oneDNN's [out, in] row-major ("ab"), so the inner product reads and writes the graph's
         * arrays directly.
         */
        private void classifier(ComputationGraph graph, Net n) {
            Layer fc = graph.getLayer(VertexNames.HEAD_FC);
            INDArray w = fc.getParam("W");
            long classes = w.size(1);
            Map<String, INDArray> gv = gradientViews(fc);
            if (!Arrays.equals(w.stride(), new long[] {1, channels}) || w.size(0) != channels
                    || !Arrays.equals(gv.get("W").stride(), new long[] {1, channels})
                    || !OneDnn.isDense(fc.getParam("b")) || !OneDnn.isDense(gv.get("b"))) {
                throw new IllegalStateException("classifier weights not laid out as expected");
            }
            memory.desc src = keep(OneDnn.plain(batch, channels));
            memory.desc wd = keep(OneDnn.plain(classes, channels));
            memory.desc bd = keep(OneDnn.plain(classes));
            memory.desc dst = keep(OneDnn.plain(batch, classes));
            logits = Nd4j.createUninitializedDetached(DataType.FLOAT, batch, classes);
            dLogits = Nd4j.createUninitializedDetached(DataType.FLOAT, batch, classes);
            ipSrc = keep(OneDnn.bind(src, pooled));
            ipDiffSrc = keep(OneDnn.bind(src, dPooled));
            ipDst = keep(OneDnn.bind(dst, logits));
            ipDiffDst = keep(OneDnn.bind(dst, dLogits));
            ipW = keep(new memory(wd, OneDnn.engine(), new Pointer()));
            ipB = keep(new memory(bd, OneDnn.engine(), new Pointer()));
            ipDW = keep(new memory(wd, OneDnn.engine(), new Pointer()));
            ipDB = keep(new memory(bd, OneDnn.engine(), new Pointer()));
            memory w0 = ipW;
            memory b0 = ipB;
            memory dw0 = ipDW;
            memory db0 = ipDB;
            bind.add(gr -> {
                Layer l = gr.getLayer(VertexNames.HEAD_FC);
                Map<String, INDArray> g = gradientViews(l);
                w0.set_data_handle(OneDnn.pointer(l.getParam("W")));
                b0.set_data_handle(OneDnn.pointer(l.getParam("b")));
                dw0.set_data_handle(OneDnn.pointer(g.get("W")));
                db0.set_data_handle(OneDnn.pointer(g.get("b")));
            });
            inner_product_forward.desc d = new inner_product_forward.desc(dnnl.prop_kind.forward_training, src, wd,
                    bd, dst);
            ipPd = keep(new inner_product_forward.primitive_desc(d, OneDnn.engine()));
            impls.merge("ip fwd " + ipPd.impl_info_str().getString(), 1, Integer::sum);
            add(forward, keep(new inner_product_forward(ipPd)), Map.of(dnnl.DNNL_ARG_SRC, ipSrc,
                    dnnl.DNNL_ARG_WEIGHTS, ipW, dnnl.DNNL_ARG_BIAS, ipB, dnnl.DNNL_ARG_DST, ipDst));
        }

        private void classifierBackward() {
            inner_product_backward_data.desc dd = new inner_product_backward_data.desc(ipSrc.get_desc(),
                    ipW.get_desc(), ipDst.get_desc());
            inner_product_backward_data.primitive_desc dpd = keep(new inner_product_backward_data.primitive_desc(dd,
                    OneDnn.engine(), ipPd));
            add(backward, keep(new inner_product_backward_data(dpd)), Map.of(dnnl.DNNL_ARG_DIFF_DST, ipDiffDst,
                    dnnl.DNNL_ARG_WEIGHTS, ipW, dnnl.DNNL_ARG_DIFF_SRC, ipDiffSrc));
            inner_product_backward_weights.desc wd = new inner_product_backward_weights.desc(ipSrc.get_desc(),
                    ipDW.get_desc(), ipDB.get_desc(), ipDst.get_desc());
            inner_product_backward_weights.primitive_desc wpd = keep(
                    new inner_product_backward_weights.primitive_desc(wd, OneDnn.engine(), ipPd));
            impls.merge("ip bwd " + wpd.impl_info_str().getString() + " / " + dpd.impl_info_str().getString(), 1,
                    Integer::sum);
            add(backward, keep(new inner_product_backward_weights(wpd)), Map.of(dnnl.DNNL_ARG_SRC, ipSrc,
                    dnnl.DNNL_ARG_DIFF_DST, ipDiffDst, dnnl.DNNL_ARG_DIFF_WEIGHTS, ipDW,
                    dnnl.DNNL_ARG_DIFF_BIAS, ipDB));
        }

        /**
         * Softmax and DL4J's LossMCXENT on the logits: the score is the batch mean of
         * -sum(w y log clip(p)), the gradient p sum(w y) - w y (p - y without class weights w), summed
         * over the batch later, as DL4J leaves it.
         */
        private double softmaxCrossEntropy(INDArray labels) {
            int n = (int) batch;
            int k = (int) logits.size(1);
            float[] z = logits.data().asFloat();
            float[] y = labels.dup('c').data().asFloat();
            float[] dz = new float[n * k];
            double eps = net().clipEps;
            float[] w = net().classWeights;
            if (w != null && w.length != k) {
                throw new IllegalStateException("class weights for " + w.length + " classes, logits for " + k);
            }
            double score = 0;
            for (int i = 0; i < n; i++) {
                int o = i * k;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < k; j++) {
                    max = Math.max(max, z[o + j]);
                }
                double sum = 0;
                for (int j = 0; j < k; j++) {
                    sum += Math.exp(z[o + j] - max);
                }
                double wy = 0;
                for (int j = 0; j < k; j++) {
                    wy += (w == null ? 1 : w[j]) * y[o + j];
                }
                for (int j = 0; j < k; j++) {
                    double p = Math.exp(z[o + j] - max) / sum;
                    double wj = w == null ? 1 : w[j];
                    dz[o + j] = (float) (w == null ? p - y[o + j] : p * wy - wj * y[o + j]);
                    if (y[o + j] != 0) {
                        score -= wj * y[o + j] * Math.log(Math.min(Math.max(p, eps), 1 - eps));
                    }
                }
            }
            new org.bytedeco.javacpp.FloatPointer(OneDnn.pointer(dLogits)).put(dz);
            return score / n;
        }

        // ---- running

        double run(ComputationGraph gr, INDArray x, INDArray labels) {
            stream s = OneDnn.stream();
            inputMem.set_data_handle(OneDnn.pointer(x));
            for (java.util.function.Consumer<ComputationGraph> r : bind) {
                r.accept(gr);
            }
            execute(forward, s, gr);
            double score = softmaxCrossEntropy(labels);
            execute(backward, s, gr);
            return score;
        }

        private final Net net;

        private Net net() {
            return net;
        }

        private static void execute(List<Exec> list, stream s, ComputationGraph gr) {
            for (Exec e : list) {
                if (e.prim() != null) {
                    e.prim().execute(s, e.args());
                } else {
                    s._wait();
                    e.java().accept(gr);
                }
            }
            s._wait();
        }

        private final Map<Layer, Map<String, INDArray>> views = new HashMap<>();

        private Map<String, INDArray> gradientViews(Layer l) {
            // a frozen layer has no gradient view: DL4J never writes its part of the gradient either
            return views.computeIfAbsent(l, k -> k.getGradientsViewArray() == null ? Map.of()
                    : k.conf().getLayer().initializer().getGradientsFromFlattened(k.conf(), k.getGradientsViewArray()));
        }

        /** The Gradient DL4J's updater takes: the flattened view, and each layer's parameters by name. */
        private Gradient gradientMap(ComputationGraph g) {
            DefaultGradient dg = new DefaultGradient(g.getFlattenedGradients());
            for (Layer l : g.getLayers()) {
                if (l.numParams() == 0) {
                    continue;
                }
                for (Map.Entry<String, INDArray> e : gradientViews(l).entrySet()) {
                    dg.setGradientFor(l.conf().getLayer().getLayerName() + "_" + e.getKey(), e.getValue());
                }
            }
            return dg;
        }

        @Override
        public void close() {
            kept.close();
        }
    }
}
