package dev.resnext.runtime.layers;

import dev.resnext.backend.OneDnn;
import dev.resnext.backend.OneDnnGroupedConvolution;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.VertexIndices;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Runtime coordinator of one ResNeXt block's cardinality groups: the {@link ChannelSplitVertexImpl}s
 * that cut one input into channel slices, the {@link BranchConvolutionImpl}s on those slices and
 * the {@link ChannelMergeVertexImpl} that concatenates them. The graph keeps exactly that
 * split/branch/merge form (names, parameters, saved zips); this class only changes how the work
 * is done:
 * <ul>
 *   <li><b>Fused groups</b> (float, CPU, oneDNN loaded): the first split vertex of a pass runs
 *   all groups' convolutions as one oneDNN grouped convolution into one output array; each branch
 *   layer returns its channel slice of it (a view) and the merge returns the whole array, so the
 *   merge copies nothing. Backward, the merge hands the output gradient to the first branch layer,
 *   which computes every group's weight gradient (into the layers' own gradient views) and the
 *   whole input gradient in one call.</li>
 *   <li><b>Shared split gradient</b> (CPU backend, also without fusion): the split vertices write
 *   their input-gradient slices into one array instead of each allocating a zero-filled
 *   full-size gradient that DL4J then sums ({@link AccumulatedGradient}).</li>
 * </ul>
 * A block is recognised from the graph's structure when its first split vertex runs, so graphs
 * edited by transfer learning keep working; where the structure differs (frozen branches, other
 * consumers, non-float data), the vertices and layers simply run one by one as plain DL4J.
 * Set resnext.fusedGroups or resnext.sharedSplitGradient (RuntimeSettings) to "false" to switch a
 * mechanism off (for comparisons; the results are the same).
 *
 * <p>Not thread-safe, like a {@link ComputationGraph} itself.
 */
final class GroupedBlock {
    private static final Logger log = LoggerFactory.getLogger(GroupedBlock.class);

    /** DL4J's whole-pass activation workspace (ComputationGraph.WS_ALL_LAYERS_ACT, not public). */
    private static final String WS_ALL_LAYERS_ACT = "WS_ALL_LAYERS_ACT";
    // keyed by the graph's vertex array: ComputationGraph.equals compares configurations and parameters
    private static final Map<GraphVertex[], Scratch> SCRATCH = new WeakHashMap<>();
    private static final boolean CPU_BACKEND = OneDnn.isCpuBackend();

    private final ComputationGraph graph;
    private final ChannelSplitVertexImpl[] splits;
    private final BranchConvolutionImpl[] convs;   // null: branches run as plain layers
    private final ChannelMergeVertexImpl merge;    // null likewise
    private final boolean shareGradient;
    private final boolean fusable;

    // forward pass state: x identifies the pass
    private INDArray x;
    private boolean xCovered;
    private INDArray y;
    private int branchOutputs;
    // backward pass state
    private INDArray dy;
    private AccumulatedGradient dx;
    private AccumulatedGradient accumulated;
    private int splitBackwards;

    private GroupedBlock(ComputationGraph graph, ChannelSplitVertexImpl[] splits, BranchConvolutionImpl[] convs,
                         ChannelMergeVertexImpl merge) {
        this.graph = graph;
        this.splits = splits;
        this.convs = convs;
        this.merge = merge;
        this.shareGradient = CPU_BACKEND && dev.resnext.RuntimeSettings.current().sharedSplitGradient();
        this.fusable = convs != null && CPU_BACKEND && dev.resnext.RuntimeSettings.current().fusedGroups()
                && OneDnnGroupedConvolution.available();
    }

    /**
     * Recognises the block around {@code split} and attaches the coordinator to all its members;
     * returns null (and attaches nothing) when the input also feeds something other than split vertices.
     */
    static GroupedBlock attach(ComputationGraph graph, ChannelSplitVertexImpl split) {
        GraphVertex[] vertices = graph.getVertices();
        VertexIndices[] in = split.getInputVertices();
        if (in == null || in.length != 1) {
            return null;
        }
        GraphVertex producer = vertices[in[0].getVertexIndex()];
        List<ChannelSplitVertexImpl> found = new ArrayList<>();
        for (VertexIndices out : producer.getOutputVertices()) {
            if (!(vertices[out.getVertexIndex()] instanceof ChannelSplitVertexImpl s)) {
                return null;
            }
            found.add(s);
        }
        found.sort(Comparator.comparingInt(ChannelSplitVertexImpl::getFirstChannel));
        int next = 0;
        for (ChannelSplitVertexImpl s : found) {
            if (s.getFirstChannel() != next) {
                return null;   // gaps or overlaps: the slices must tile the channels
            }
            next += s.getChannels();
        }
        ChannelSplitVertexImpl[] splits = found.toArray(new ChannelSplitVertexImpl[0]);
        BranchConvolutionImpl[] convs = branches(vertices, splits);
        ChannelMergeVertexImpl merge = convs == null ? null : mergeOf(vertices, splits, convs);
        if (merge == null) {
            convs = null;
        }
        GroupedBlock b = new GroupedBlock(graph, splits, convs, merge);
        for (ChannelSplitVertexImpl s : splits) {
            s.setBlock(b);
        }
        if (convs != null) {
            for (int k = 0; k < convs.length; k++) {
                convs[k].setBlock(b, k);
            }
            merge.setBlock(b);
        }
        if (log.isDebugEnabled()) {
            log.debug("{}: {} groups, fused {}, shared split gradient {}", producer.getVertexName(), splits.length,
                    b.fusable, b.shareGradient);
        }
        return b;
    }

    /** The branch layers fed by the splits, if each split feeds exactly one equally configured branch. */
    private static BranchConvolutionImpl[] branches(GraphVertex[] vertices, ChannelSplitVertexImpl[] splits) {
        BranchConvolutionImpl[] convs = new BranchConvolutionImpl[splits.length];
        for (int k = 0; k < splits.length; k++) {
            VertexIndices[] outs = splits[k].getOutputVertices();
            if (outs == null || outs.length != 1) {
                return null;
            }
            GraphVertex v = vertices[outs[0].getVertexIndex()];
            if (!v.hasLayer() || !(v.getLayer() instanceof BranchConvolutionImpl c)
                    || v.getOutputVertices() == null || v.getOutputVertices().length != 1) {
                return null;
            }
            BranchConvolution conf = c.branchConf();
            BranchConvolution first = k == 0 ? conf : convs[0].branchConf();
            boolean plain = !conf.hasBias() && conf.getActivationFn() instanceof ActivationIdentity
                    && conf.getIDropout() == null && conf.getWeightNoise() == null
                    && conf.getConvolutionMode() != ConvolutionMode.Same
                    && conf.getCnn2dDataFormat() == CNN2DFormat.NCHW && conf.getNIn() == splits[k].getChannels();
            boolean same = conf.getNOut() == first.getNOut() && Arrays.equals(conf.getKernelSize(), first.getKernelSize())
                    && Arrays.equals(conf.getStride(), first.getStride())
                    && Arrays.equals(conf.getPadding(), first.getPadding())
                    && Arrays.equals(conf.getDilation(), first.getDilation())
                    && conf.getNIn() == first.getNIn();
            if (!plain || !same) {
                return null;
            }
            convs[k] = c;
        }
        return convs;
    }

    /** The merge vertex that takes exactly the branches, in channel order. */
    private static ChannelMergeVertexImpl mergeOf(GraphVertex[] vertices, ChannelSplitVertexImpl[] splits,
                                                  BranchConvolutionImpl[] convs) {
        int mergeIdx = -1;
        int[] branchVertex = new int[splits.length];
        for (int k = 0; k < splits.length; k++) {
            branchVertex[k] = splits[k].getOutputVertices()[0].getVertexIndex();
            int m = vertices[branchVertex[k]].getOutputVertices()[0].getVertexIndex();
            if (mergeIdx >= 0 && m != mergeIdx) {
                return null;
            }
            mergeIdx = m;
        }
        if (!(vertices[mergeIdx] instanceof ChannelMergeVertexImpl merge)) {
            return null;
        }
        VertexIndices[] ins = merge.getInputVertices();
        if (ins.length != splits.length) {
            return null;
        }
        for (int k = 0; k < ins.length; k++) {
            if (ins[k].getVertexIndex() != branchVertex[k]) {
                return null;
            }
        }
        return merge;
    }

    // ------------------------------------------------------------------------------------------
    // forward

    /**
     * Called by every split vertex with its input. The first call of a pass (a new input array)
     * resets the state and, when the block is fused, computes all groups.
     */
    void splitForward(INDArray input, LayerWorkspaceMgr mgr) {
        if (input != x) {
            startPass(input, mgr);
        }
    }

    private void startPass(INDArray input, LayerWorkspaceMgr mgr) {
        reset();
        x = input;
        int last = splits.length - 1;
        xCovered = input.rank() == 4 && splits[last].getFirstChannel() + splits[last].getChannels() == input.size(1);
        if (fusable && xCovered && input.dataType() == DataType.FLOAT) {
            y = fusedForward(input, mgr);
        }
    }

    private INDArray fusedForward(INDArray input, LayerWorkspaceMgr mgr) {
        OneDnnGroupedConvolution.Geometry g = geometry(input.shape());
        long[] outShape = {g.batch(), g.outChannels(), g.outH(), g.outW()};
        INDArray out;
        if (perLayerWorkspaces(mgr, ArrayType.ACTIVATIONS)) {
            // inference: DL4J frees each vertex's activations once its consumers ran, and the
            // branches would each have to copy their slice out; the output goes to a buffer of the
            // graph, used by this block's branches and merge only before the next block reuses it
            out = scratch().get("y", outShape);
        } else {
            out = mgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, outShape, 'c');
        }
        INDArray in = contiguous(input, mgr, ArrayType.FF_WORKING_MEM);
        INDArray w = groupedWeights(mgr, ArrayType.FF_WORKING_MEM);
        OneDnnGroupedConvolution.forward(g, in, w, out, mgr, ArrayType.FF_WORKING_MEM);
        return out;
    }

    /**
     * The output of branch {@code k} when this pass is fused: a view of the grouped output (null:
     * compute it as a plain layer).
     */
    INDArray branchOutput(int k, LayerWorkspaceMgr mgr) {
        if (y == null) {
            return null;
        }
        branchOutputs++;
        return mgr.leverageTo(ArrayType.ACTIVATIONS, channels(y, k));
    }

    /** The merge's output when every branch returned a slice of the grouped output (null: concatenate). */
    INDArray mergeOutput(LayerWorkspaceMgr mgr) {
        if (y == null || branchOutputs != convs.length) {
            return null;
        }
        return mgr.leverageTo(ArrayType.ACTIVATIONS, y);
    }

    // ------------------------------------------------------------------------------------------
    // backward

    /** Merge backward in a fused pass: keeps the output gradient for the branches and hands out views of it. */
    INDArray[] mergeBackward(INDArray epsilon, LayerWorkspaceMgr mgr) {
        if (y == null || branchOutputs != convs.length || epsilon.dataType() != DataType.FLOAT) {
            return null;
        }
        // epsilon lives in the next layer's gradient workspace, closed as soon as this vertex is done
        dy = mgr.leverageTo(ArrayType.ACTIVATION_GRAD, epsilon);
        dy = contiguous(dy, mgr, ArrayType.ACTIVATION_GRAD);
        INDArray[] out = new INDArray[convs.length];
        for (int k = 0; k < out.length; k++) {
            out[k] = channels(dy, k);
        }
        return out;
    }

    /**
     * Branch backward in a fused pass: the first branch computes every group's weight gradient and
     * the whole input gradient; each returns its weight gradient view and its slice of the input gradient.
     */
    Pair<Gradient, INDArray> branchBackward(BranchConvolutionImpl conv, int k, LayerWorkspaceMgr mgr) {
        if (dy == null) {
            return null;
        }
        if (dx == null) {
            OneDnnGroupedConvolution.Geometry g = geometry(x.shape());
            INDArray in = contiguous(x, mgr, ArrayType.BP_WORKING_MEM);
            INDArray w = groupedWeights(mgr, ArrayType.BP_WORKING_MEM);
            GroupedView dw = groupedGradients(mgr);
            // the input gradient outlives this vertex's workspaces (the split vertices and the
            // layer before them use it), so it goes to a graph buffer that the next block reuses
            INDArray dIn = scratch().get("dx", x.shape());
            OneDnnGroupedConvolution.backward(g, in, w, dy, dIn, dw.array(), mgr, ArrayType.BP_WORKING_MEM);
            dw.scatter();
            dx = new AccumulatedGradient(dIn);
        }
        Gradient grad = new DefaultGradient();
        grad.gradientForVariable().put(ConvolutionParamInitializer.WEIGHT_KEY,
                conv.getGradientViews().get(ConvolutionParamInitializer.WEIGHT_KEY));
        return new Pair<>(grad, channels(dx, k));
    }

    /**
     * Split backward: with a shared gradient, the first split of the pass returns the block's whole
     * input gradient and the others a {@link AccumulatedGradient.NoContribution}. Returns null for
     * DL4J's own way (each split a zero-filled full-size gradient).
     */
    INDArray splitBackward(ChannelSplitVertexImpl split, INDArray epsilon, long[] inputShape, LayerWorkspaceMgr mgr) {
        if (!shareGradient || !xCovered) {
            return null;
        }
        INDArray full;
        boolean first;
        if (dx != null && within(epsilon, dx)) {
            // fused: every group's gradient is already in dx
            full = dx;
            first = splitBackwards == 0;
        } else {
            first = accumulated == null;
            if (first) {
                // every slice gets written, so no zero fill is needed
                accumulated = new AccumulatedGradient(mgr.createUninitialized(ArrayType.ACTIVATION_GRAD,
                        epsilon.dataType(), inputShape, 'c'));
            }
            accumulated.get(split.channelRange(inputShape.length)).assign(epsilon);
            full = accumulated;
        }
        INDArray result = first ? full : noContribution(epsilon);
        if (++splitBackwards == splits.length) {
            dx = null;
            dy = null;
            accumulated = null;
            splitBackwards = 0;
        }
        return result;
    }

    /** Forgets the previous pass. Not tied to vertex clear(): inference clears each vertex right after it ran. */
    private void reset() {
        x = null;
        y = null;
        xCovered = false;
        branchOutputs = 0;
        dy = null;
        dx = null;
        accumulated = null;
        splitBackwards = 0;
    }

    /** Whether the branches of this block run as one grouped convolution. */
    boolean isFused() {
        return fusable;
    }

    // ------------------------------------------------------------------------------------------
    // helpers

    private OneDnnGroupedConvolution.Geometry geometry(long[] in) {
        // every branch has the same settings: the first one's, with one group per branch
        return convs[0].geometry(in, convs.length);
    }

    /** Channel slice {@code k} of a grouped array (a view). */
    private INDArray channels(INDArray a, int k) {
        long width = a.size(1) / convs.length;
        INDArrayIndex[] idx = {NDArrayIndex.all(), NDArrayIndex.interval(k * width, (k + 1) * width),
                NDArrayIndex.all(), NDArrayIndex.all()};
        return a.get(idx);
    }

    /** All branches' weights as one [out, in/groups, kH, kW] array: a view when they lie in order in the parameters. */
    private INDArray groupedWeights(LayerWorkspaceMgr mgr, ArrayType working) {
        INDArray[] ws = new INDArray[convs.length];
        for (int k = 0; k < ws.length; k++) {
            ws[k] = convs[k].getParam(ConvolutionParamInitializer.WEIGHT_KEY);
        }
        INDArray view = adjacentView(ws);
        if (view != null) {
            return view;
        }
        long[] s = ws[0].shape();
        INDArray all = mgr.createUninitialized(working, ws[0].dataType(), new long[] {s[0] * ws.length, s[1], s[2], s[3]}, 'c');
        for (int k = 0; k < ws.length; k++) {
            channels0(all, k, s[0]).assign(ws[k]);
        }
        return all;
    }

    private record GroupedView(INDArray array, INDArray[] parts) {
        void scatter() {
            if (parts != null) {
                long n = parts[0].size(0);
                for (int k = 0; k < parts.length; k++) {
                    parts[k].assign(channels0(array, k, n));
                }
            }
        }
    }

    private GroupedView groupedGradients(LayerWorkspaceMgr mgr) {
        INDArray[] gs = new INDArray[convs.length];
        for (int k = 0; k < gs.length; k++) {
            gs[k] = convs[k].getGradientViews().get(ConvolutionParamInitializer.WEIGHT_KEY);
        }
        INDArray view = adjacentView(gs);
        if (view != null) {
            return new GroupedView(view, null);
        }
        long[] s = gs[0].shape();
        return new GroupedView(mgr.createUninitialized(ArrayType.BP_WORKING_MEM, gs[0].dataType(),
                new long[] {s[0] * gs.length, s[1], s[2], s[3]}, 'c'), gs);
    }

    private static INDArray channels0(INDArray a, int k, long n) {
        return a.get(NDArrayIndex.interval(k * n, (k + 1) * n), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
    }

    /** One view over arrays that are contiguous and follow each other in one buffer, else null. */
    private static INDArray adjacentView(INDArray[] parts) {
        INDArray first = parts[0];
        long bytes = first.length() * first.data().getElementSize();
        long start = OneDnn.addressOf(first);
        for (int k = 0; k < parts.length; k++) {
            INDArray p = parts[k];
            if (!OneDnn.isDense(p) || OneDnn.addressOf(p) != start + k * bytes
                    || !Arrays.equals(p.shape(), first.shape())) {
                return null;
            }
        }
        long[] s = first.shape();
        return OneDnn.viewAt(first, new long[] {s[0] * parts.length, s[1], s[2], s[3]});
    }

    /** Whether {@code part}'s first element lies inside {@code whole}'s data. */
    private static boolean within(INDArray part, INDArray whole) {
        long a = OneDnn.addressOf(part);
        long start = OneDnn.addressOf(whole);
        return a >= start && a < start + whole.length() * whole.data().getElementSize();
    }

    private static INDArray contiguous(INDArray a, LayerWorkspaceMgr mgr, ArrayType working) {
        if (OneDnn.isDense(a)) {
            return a;
        }
        return mgr.dup(working, a, 'c');
    }

    /** True where each vertex gets its own activation workspace (inference), i.e. not one for the whole pass. */
    private static boolean perLayerWorkspaces(LayerWorkspaceMgr mgr, ArrayType type) {
        return mgr.hasConfiguration(type) && !mgr.isScopedOut(type)
                && !WS_ALL_LAYERS_ACT.equals(mgr.getWorkspaceName(type));
    }

    private static final Map<DataType, AccumulatedGradient.NoContribution[]> ZEROS = new java.util.EnumMap<>(DataType.class);

    private static synchronized INDArray noContribution(INDArray like) {
        AccumulatedGradient.NoContribution[] byRank = ZEROS.computeIfAbsent(like.dataType(),
                t -> new AccumulatedGradient.NoContribution[8]);
        int rank = like.rank();
        if (byRank[rank] == null) {
            long[] shape = new long[rank];
            Arrays.fill(shape, 1);
            try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                byRank[rank] = new AccumulatedGradient.NoContribution(Nd4j.zeros(like.dataType(), shape));
            }
        }
        return byRank[rank];
    }

    private Scratch scratch() {
        synchronized (SCRATCH) {
            return SCRATCH.computeIfAbsent(graph.getVertices(), g -> new Scratch());
        }
    }

    /**
     * Detached buffers of one graph, one per role, grown to the largest block. Blocks run one after
     * the other, and a block's use of a buffer ends before the next block's starts.
     */
    private static final class Scratch {
        private final Map<String, INDArray> buffers = new java.util.HashMap<>();

        INDArray get(String role, long[] shape) {
            long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            INDArray buf = buffers.get(role);
            if (buf == null || buf.length() < n) {
                if (buf != null) {
                    buf.close();
                }
                try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                    buf = Nd4j.createUninitialized(DataType.FLOAT, n);
                }
                buffers.put(role, buf);
                log.debug("grouped-convolution buffer '{}' now {} MB", role,
                        String.format(Locale.ROOT, "%.1f", n * 4 / 1048576.0));
            }
            return Nd4j.create(buf.data(), shape, Nd4j.getStrides(shape, 'c'), 0, 'c', DataType.FLOAT);
        }
    }
}
