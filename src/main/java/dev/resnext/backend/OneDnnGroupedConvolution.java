package dev.resnext.backend;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.convolution_backward_data;
import org.bytedeco.dnnl.convolution_backward_weights;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.stream;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.PointerScope;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.HashMap;
import java.util.Map;

/**
 * Grouped 2-D convolution (NCHW, float, no bias) on oneDNN through JavaCPP's {@code dnnl} preset:
 * the grouped 3x3 convolution of a ResNeXt block in one native call per direction, as PyTorch runs
 * it, instead of one DL4J convolution per group.
 *
 * <p>Why: libnd4j bundles oneDNN but offers no grouped convolution, and calling its conv2d once per
 * group costs a primitive creation and two reorders per group (the grouped convolution of a
 * ResNeXt-50 became 512 small native calls forward and 512 slow ones backward). Here the oneDNN
 * primitives are created once per shape and thread and cached; oneDNN picks its preferred (blocked)
 * memory formats and the data are reordered from and to ND4J's plain NCHW arrays, with the
 * temporary buffers taken from the caller's DL4J working-memory workspace. A 1x1 convolution
 * without groups is the exception ({@code resnext.onednn.plainPointwise}): it runs on the plain
 * arrays themselves, where oneDNN computes it as a matrix product (no im2col at stride 1); the
 * reorders to and from the blocked layout cost more than its blocked kernel saves.
 *
 * <p>Arrays passed in must be float, c-ordered and contiguous (a view with an offset is fine);
 * weights are {@code [outChannels, inChannels/groups, kH, kW]}, which is oneDNN's {@code goihw}.
 * {@link #available()} says whether the native library loaded; callers fall back to per-group
 * convolutions otherwise. The cached primitives are per thread.
 */
public final class OneDnnGroupedConvolution {
    private static final ThreadLocal<Map<PlanKey, Plan>> PLANS = ThreadLocal.withInitial(HashMap::new);
    private static final ThreadLocal<Map<ReorderKey, reorder>> REORDERS = ThreadLocal.withInitial(HashMap::new);

    private OneDnnGroupedConvolution() {
    }

    /**
     * Shape of one grouped convolution; padding is given at the top/left, the bottom/right padding
     * follows from the output size (DL4J's Truncate mode drops what does not fit).
     */
    public record Geometry(long batch, long inChannels, long inH, long inW, long outChannels, long outH, long outW,
                           int groups, int kH, int kW, int strideH, int strideW, int padH, int padW,
                           int dilationH, int dilationW) {
        /**
         * The geometry of a convolution of an NCHW input of shape {@code in}; the output size is
         * DL4J's Truncate mode (what does not fit is dropped), the one place it is computed.
         */
        public static Geometry of(long[] in, long outChannels, int groups, int kH, int kW, int strideH, int strideW,
                                  int padH, int padW, int dilationH, int dilationW) {
            long outH = (in[2] + 2L * padH - ((long) (kH - 1) * dilationH + 1)) / strideH + 1;
            long outW = (in[3] + 2L * padW - ((long) (kW - 1) * dilationW + 1)) / strideW + 1;
            return new Geometry(in[0], in[1], in[2], in[3], outChannels, outH, outW, groups, kH, kW, strideH, strideW,
                    padH, padW, dilationH, dilationW);
        }

        public long[] srcDims() { return new long[] {batch, inChannels, inH, inW}; }
        public long[] dstDims() { return new long[] {batch, outChannels, outH, outW}; }
        /** Weights as oneDNN's grouped layout (goihw). */
        public long[] weightDims() {
            return new long[] {groups, outChannels / groups, inChannels / groups, kH, kW};
        }
        /** Bottom/right padding: what the output size needs beyond the top/left padding. */
        public long[] padRight() {
            return new long[] {
                    (outH - 1) * strideH + (long) (kH - 1) * dilationH + 1 - inH - padH,
                    (outW - 1) * strideW + (long) (kW - 1) * dilationW + 1 - inW - padW};
        }
    }

    /** Whether oneDNN is available for grouped convolutions ({@link OneDnn#available()}). */
    public static boolean available() {
        return OneDnn.available();
    }

    /** y = conv(x, w), written into {@code y}. Temporary buffers come from {@code mgr}'s {@code working} memory. */
    public static void forward(Geometry g, INDArray x, INDArray w, INDArray y, LayerWorkspaceMgr mgr,
                               ArrayType working) {
        check(x, w, y);
        Plan p = plan(g);
        try (PointerScope scope = new PointerScope()) {
            stream s = stream();
            memory src = input(p.srcPlain, p.fwdSrc, x, mgr, working, s);
            memory wts = input(p.wPlain, p.fwdWeights, w, mgr, working, s);
            boolean direct = p.fwdDst.equals(p.dstPlain);
            memory dst = direct ? bind(p.dstPlain, y) : temp(p.fwdDst, mgr, working);
            IntMemoryMap args = new IntMemoryMap();
            args.put(dnnl.DNNL_ARG_SRC, src);
            args.put(dnnl.DNNL_ARG_WEIGHTS, wts);
            args.put(dnnl.DNNL_ARG_DST, dst);
            p.fwd.execute(s, args);
            if (!direct) {
                reorder(p.fwdDst, p.dstPlain).execute(s, dst, bind(p.dstPlain, y));
            }
            s._wait();
        }
    }

    /**
     * Gradients of y = conv(x, w): {@code dx} (input gradient) and {@code dw} (weight gradient), both
     * overwritten, from {@code dy} (output gradient).
     */
    public static void backward(Geometry g, INDArray x, INDArray w, INDArray dy, INDArray dx, INDArray dw,
                                LayerWorkspaceMgr mgr, ArrayType working) {
        check(x, w, dy, dx, dw);
        Plan p = plan(g);
        p.prepareBackward();
        try (PointerScope scope = new PointerScope()) {
            stream s = stream();
            // input gradient
            memory diffDst = input(p.dstPlain, p.bdDiffDst, dy, mgr, working, s);
            memory wts = input(p.wPlain, p.bdWeights, w, mgr, working, s);
            boolean directDx = p.bdDiffSrc.equals(p.srcPlain);
            memory diffSrc = directDx ? bind(p.srcPlain, dx) : temp(p.bdDiffSrc, mgr, working);
            IntMemoryMap a1 = new IntMemoryMap();
            a1.put(dnnl.DNNL_ARG_DIFF_DST, diffDst);
            a1.put(dnnl.DNNL_ARG_WEIGHTS, wts);
            a1.put(dnnl.DNNL_ARG_DIFF_SRC, diffSrc);
            p.bwdData.execute(s, a1);
            if (!directDx) {
                reorder(p.bdDiffSrc, p.srcPlain).execute(s, diffSrc, bind(p.srcPlain, dx));
            }
            // weight gradient; the reordered output gradient is reused when both want the same format
            memory src = input(p.srcPlain, p.bwSrc, x, mgr, working, s);
            memory diffDst2 = p.bwDiffDst.equals(p.bdDiffDst) ? diffDst
                    : input(p.dstPlain, p.bwDiffDst, dy, mgr, working, s);
            boolean directDw = p.bwDiffWeights.equals(p.wPlain);
            memory diffW = directDw ? bind(p.wPlain, dw) : temp(p.bwDiffWeights, mgr, working);
            IntMemoryMap a2 = new IntMemoryMap();
            a2.put(dnnl.DNNL_ARG_SRC, src);
            a2.put(dnnl.DNNL_ARG_DIFF_DST, diffDst2);
            a2.put(dnnl.DNNL_ARG_DIFF_WEIGHTS, diffW);
            p.bwdWeights.execute(s, a2);
            if (!directDw) {
                reorder(p.bwDiffWeights, p.wPlain).execute(s, diffW, bind(p.wPlain, dw));
            }
            s._wait();
        }
    }

    private static void check(INDArray... arrays) {
        for (INDArray a : arrays) {
            if (a.dataType() != DataType.FLOAT || !isDense(a)) {
                throw new IllegalArgumentException("oneDNN grouped convolution needs contiguous c-order float arrays, got "
                        + a.shapeInfoToString());
            }
        }
    }

    /** See {@link OneDnn#isDense(INDArray)}. */
    public static boolean isDense(INDArray a) {
        return OneDnn.isDense(a);
    }

    private static Plan plan(Geometry g) {
        if (!OneDnn.available()) {
            throw new IllegalStateException("oneDNN is not available");
        }
        boolean plain = g.kH() == 1 && g.kW() == 1 && g.groups() == 1
                && dev.resnext.RuntimeSettings.current().plainPointwise();
        return PLANS.get().computeIfAbsent(new PlanKey(g, plain), k -> new Plan(k.geometry(), k.plain()));
    }

    private record PlanKey(Geometry geometry, boolean plain) {
    }

    private static memory bind(memory.desc desc, INDArray a) {
        return OneDnn.bind(desc, a);
    }

    private static stream stream() {
        return OneDnn.stream();
    }

    /** The plain array itself, or a reordered copy in the format the primitive wants. */
    private static memory input(memory.desc plain, memory.desc wanted, INDArray a, LayerWorkspaceMgr mgr,
                                ArrayType working, stream s) {
        memory user = bind(plain, a);
        if (wanted.equals(plain)) {
            return user;
        }
        memory t = temp(wanted, mgr, working);
        reorder(plain, wanted).execute(s, user, t);
        return t;
    }

    /** A buffer in oneDNN's format, allocated in the DL4J working-memory workspace (freed with it). */
    private static memory temp(memory.desc desc, LayerWorkspaceMgr mgr, ArrayType working) {
        long floats = (desc.get_size() + 3) / 4;
        INDArray buf = mgr.createUninitialized(working, DataType.FLOAT, new long[] {floats}, 'c');
        return OneDnn.bind(desc, buf);
    }

    private static reorder reorder(memory.desc from, memory.desc to) {
        return REORDERS.get().computeIfAbsent(new ReorderKey(from, to), k -> {
            try (PointerScope temporaries = new PointerScope()) {
                return OneDnn.keep(new reorder(new reorder.primitive_desc(OneDnn.engine(), from, OneDnn.engine(), to)));
            }
        });
    }

    private record ReorderKey(memory.desc from, memory.desc to) {
        @Override
        public boolean equals(Object o) {
            return o instanceof ReorderKey k && k.from.equals(from) && k.to.equals(to);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(from.get_size()) * 31 + Long.hashCode(to.get_size());
        }
    }

    /** The oneDNN descriptors and primitives of one geometry, kept for the thread's lifetime. */
    private static final class Plan {
        final Geometry g;
        /** Source and destination in plain NCHW rather than oneDNN's choice. */
        final boolean plain;
        final memory.desc srcPlain;
        final memory.desc dstPlain;
        final memory.desc wPlain;
        final convolution_forward.primitive_desc fwdPd;
        final primitive fwd;
        final memory.desc fwdSrc;
        final memory.desc fwdWeights;
        final memory.desc fwdDst;
        final String fwdImpl;
        primitive bwdData;
        primitive bwdWeights;
        memory.desc bdDiffDst;
        memory.desc bdWeights;
        memory.desc bdDiffSrc;
        memory.desc bwSrc;
        memory.desc bwDiffDst;
        memory.desc bwDiffWeights;
        String bdImpl;
        String bwImpl;

        Plan(Geometry g, boolean plain) {
            this.g = g;
            this.plain = plain;
            try (PointerScope temporaries = new PointerScope()) {
                srcPlain = OneDnn.keep(new memory.desc(g.srcDims(), memory.data_type.f32, memory.format_tag.nchw));
                dstPlain = OneDnn.keep(new memory.desc(g.dstDims(), memory.data_type.f32, memory.format_tag.nchw));
                wPlain = OneDnn.keep(new memory.desc(g.weightDims(), memory.data_type.f32, memory.format_tag.goihw));
                convolution_forward.desc d = new convolution_forward.desc(dnnl.prop_kind.forward_training,
                        dnnl.algorithm.convolution_direct, src(), any(g.weightDims()), dst(),
                        strides(), dilations(), padLeft(), g.padRight());
                fwdPd = OneDnn.keep(new convolution_forward.primitive_desc(d, OneDnn.engine()));
                fwd = OneDnn.keep(new convolution_forward(fwdPd));
                fwdSrc = OneDnn.keep(fwdPd.src_desc());
                fwdWeights = OneDnn.keep(fwdPd.weights_desc());
                fwdDst = OneDnn.keep(fwdPd.dst_desc());
                fwdImpl = fwdPd.impl_info_str().getString();
            }
        }

        synchronized void prepareBackward() {
            if (bwdData != null) {
                return;
            }
            try (PointerScope temporaries = new PointerScope()) {
                convolution_backward_data.desc dd = new convolution_backward_data.desc(
                        dnnl.algorithm.convolution_direct, src(), any(g.weightDims()), dst(),
                        strides(), dilations(), padLeft(), g.padRight());
                convolution_backward_data.primitive_desc dpd =
                        new convolution_backward_data.primitive_desc(dd, OneDnn.engine(), fwdPd);
                bdDiffDst = OneDnn.keep(dpd.diff_dst_desc());
                bdWeights = OneDnn.keep(dpd.weights_desc());
                bdDiffSrc = OneDnn.keep(dpd.diff_src_desc());
                bdImpl = dpd.impl_info_str().getString();
                convolution_backward_weights.desc wd = new convolution_backward_weights.desc(
                        dnnl.algorithm.convolution_direct, src(), any(g.weightDims()), dst(),
                        strides(), dilations(), padLeft(), g.padRight());
                convolution_backward_weights.primitive_desc wpd =
                        new convolution_backward_weights.primitive_desc(wd, OneDnn.engine(), fwdPd);
                bwSrc = OneDnn.keep(wpd.src_desc());
                bwDiffDst = OneDnn.keep(wpd.diff_dst_desc());
                bwDiffWeights = OneDnn.keep(wpd.diff_weights_desc());
                bwImpl = wpd.impl_info_str().getString();
                bwdWeights = OneDnn.keep(new convolution_backward_weights(wpd));
                bwdData = OneDnn.keep(new convolution_backward_data(dpd));
            }
        }

        private memory.desc src() { return plain ? srcPlain : any(g.srcDims()); }
        private memory.desc dst() { return plain ? dstPlain : any(g.dstDims()); }
        private long[] strides() { return new long[] {g.strideH(), g.strideW()}; }
        // oneDNN counts dilation from 0 (no dilation), DL4J from 1
        private long[] dilations() { return new long[] {g.dilationH() - 1, g.dilationW() - 1}; }
        private long[] padLeft() { return new long[] {g.padH(), g.padW()}; }

        private static memory.desc any(long[] dims) {
            return new memory.desc(dims, memory.data_type.f32, memory.format_tag.any);
        }
    }
}
