package dev.resnext.backend;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.batch_normalization_backward;
import org.bytedeco.dnnl.batch_normalization_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.PointerScope;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.normalization.BatchNormalizationHelper;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/**
 * DL4J batch-normalisation helper on oneDNN's batch normalisation (float, NCHW, rank 4), with the
 * primitives cached per shape; DL4J's own layer keeps doing everything around it (parameters,
 * running statistics, fallback).
 *
 * <p>Why: DL4J M2.1's oneDNN helper ({@code MKLDNNBatchNormHelper}) computes the batch mean and
 * variance with two separate ND4J reductions over the non-channel axes and then calls libnd4j's
 * batchnorm ops; on a [8, 256, 56, 56] activation that took ~150 ms forward and ~360 ms backward
 * on 2 cores, against ~10 ms each for oneDNN's own batch normalisation (same outputs to 2e-6).
 * It computes the same thing: biased batch variance in training, the running estimates in inference.
 */
public final class OneDnnBatchNormHelper implements BatchNormalizationHelper {

    private static final ThreadLocal<Map<Key, Plan>> PLANS = ThreadLocal.withInitial(HashMap::new);

    private INDArray meanCache;
    private INDArray varCache;


    /** Whether this helper can run here at all (oneDNN loaded, switch not off). */
    public static boolean available() {
        return OneDnn.available() && dev.resnext.RuntimeSettings.current().oneDnnBatchNorm();
    }

    @Override
    public boolean checkSupported() {
        return available();
    }

    @Override
    public boolean checkSupported(double eps, boolean fixedGammaBeta) {
        return !fixedGammaBeta && available();
    }

    private static boolean supported(INDArray x, CNN2DFormat format, INDArray gamma) {
        return x.rank() == 4 && format == CNN2DFormat.NCHW && x.dataType() == DataType.FLOAT && gamma != null
                && OneDnn.isDense(x);
    }

    @Override
    public INDArray preOutput(INDArray x, boolean training, long[] shape, INDArray gamma, INDArray beta, INDArray mean,
                              INDArray var, double decay, double eps, CNN2DFormat format, LayerWorkspaceMgr mgr) {
        if (!supported(x, format, gamma)) {
            return null;    // DL4J runs its own implementation
        }
        long channels = x.size(1);
        Plan p = plan(x.shape(), (float) eps, training);
        INDArray out = mgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, x.shape(), 'c');
        INDArray scaleShift = scaleShift(gamma, beta, mgr, ArrayType.FF_WORKING_MEM);
        INDArray m;
        INDArray v;
        if (training) {
            ensureCaches(channels);
            m = meanCache;
            v = varCache;
        } else {
            m = dense1d(mean, mgr, ArrayType.FF_WORKING_MEM);
            v = dense1d(var, mgr, ArrayType.FF_WORKING_MEM);
        }
        try (PointerScope scope = new PointerScope()) {
            IntMemoryMap args = new IntMemoryMap();
            args.put(dnnl.DNNL_ARG_SRC, OneDnn.bind(p.data, x));
            args.put(dnnl.DNNL_ARG_DST, OneDnn.bind(p.data, out));
            args.put(dnnl.DNNL_ARG_SCALE_SHIFT, OneDnn.bind(p.scaleShift, scaleShift));
            args.put(dnnl.DNNL_ARG_MEAN, OneDnn.bind(p.stats, m));
            args.put(dnnl.DNNL_ARG_VARIANCE, OneDnn.bind(p.stats, v));
            p.forward.execute(OneDnn.stream(), args);
            OneDnn.stream()._wait();
        }
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray input, INDArray epsilon, long[] shape, INDArray gamma,
                                                     INDArray beta, INDArray dGammaView, INDArray dBetaView, double eps,
                                                     CNN2DFormat format, LayerWorkspaceMgr mgr) {
        if (!supported(input, format, gamma) || meanCache == null || meanCache.length() != input.size(1)
                || dGammaView == null) {
            return null;
        }
        if (!OneDnn.isDense(epsilon)) {
            epsilon = mgr.dup(ArrayType.BP_WORKING_MEM, epsilon, 'c');
        }
        Plan p = plan(input.shape(), (float) eps, true);
        p.prepareBackward();
        INDArray dIn = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, DataType.FLOAT, input.shape(), 'c');
        INDArray scaleShift = scaleShift(gamma, beta, mgr, ArrayType.BP_WORKING_MEM);
        INDArray diffScaleShift = adjacentRows(dGammaView, dBetaView);
        boolean direct = diffScaleShift != null;
        if (!direct) {
            diffScaleShift = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, DataType.FLOAT,
                    new long[] {2, input.size(1)}, 'c');
        }
        try (PointerScope scope = new PointerScope()) {
            IntMemoryMap args = new IntMemoryMap();
            args.put(dnnl.DNNL_ARG_SRC, OneDnn.bind(p.data, input));
            args.put(dnnl.DNNL_ARG_DIFF_DST, OneDnn.bind(p.data, epsilon));
            args.put(dnnl.DNNL_ARG_SCALE_SHIFT, OneDnn.bind(p.scaleShift, scaleShift));
            args.put(dnnl.DNNL_ARG_MEAN, OneDnn.bind(p.stats, meanCache));
            args.put(dnnl.DNNL_ARG_VARIANCE, OneDnn.bind(p.stats, varCache));
            args.put(dnnl.DNNL_ARG_DIFF_SRC, OneDnn.bind(p.data, dIn));
            args.put(dnnl.DNNL_ARG_DIFF_SCALE_SHIFT, OneDnn.bind(p.scaleShift, diffScaleShift));
            p.backward.execute(OneDnn.stream(), args);
            OneDnn.stream()._wait();
        }
        if (!direct) {
            dGammaView.assign(diffScaleShift.getRow(0).reshape(dGammaView.shape()));
            dBetaView.assign(diffScaleShift.getRow(1).reshape(dBetaView.shape()));
        }
        Gradient g = new DefaultGradient();
        g.setGradientFor(BatchNormalizationParamInitializer.GAMMA, dGammaView);
        g.setGradientFor(BatchNormalizationParamInitializer.BETA, dBetaView);
        return new Pair<>(g, dIn);
    }

    /** gamma and beta as oneDNN's [2, C] scale-shift: a view where they are adjacent (as in DL4J's parameters). */
    private static INDArray scaleShift(INDArray gamma, INDArray beta, LayerWorkspaceMgr mgr, ArrayType working) {
        INDArray view = adjacentRows(gamma, beta);
        if (view != null) {
            return view;
        }
        INDArray ss = mgr.createUninitialized(working, DataType.FLOAT, new long[] {2, gamma.length()}, 'c');
        ss.getRow(0).assign(gamma.reshape(gamma.length()));
        ss.getRow(1).assign(beta.reshape(beta.length()));
        return ss;
    }

    /** A [2, n] view over two dense length-n arrays that follow each other in memory, else null. */
    private static INDArray adjacentRows(INDArray a, INDArray b) {
        if (a == null || b == null || !OneDnn.isDense(a) || !OneDnn.isDense(b)
                || a.length() != b.length() || a.dataType() != DataType.FLOAT || b.dataType() != DataType.FLOAT) {
            return null;
        }
        long bytes = a.length() * 4;
        if (OneDnn.addressOf(b) != OneDnn.addressOf(a) + bytes) {
            return null;
        }
        return OneDnn.viewAt(a, new long[] {2, a.length()});
    }

    private static INDArray dense1d(INDArray a, LayerWorkspaceMgr mgr, ArrayType working) {
        return OneDnn.isDense(a) ? a : mgr.dup(working, a, 'c');
    }

    private void ensureCaches(long channels) {
        if (meanCache == null || meanCache.length() != channels) {
            try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                meanCache = Nd4j.createUninitialized(DataType.FLOAT, channels);
                varCache = Nd4j.createUninitialized(DataType.FLOAT, channels);
            }
        }
    }

    @Override
    public INDArray getMeanCache(DataType dataType) {
        return meanCache;
    }

    @Override
    public INDArray getVarCache(DataType dataType) {
        return varCache;
    }

    @Override
    public Map<String, Long> helperMemoryUse() {
        return Collections.emptyMap();
    }

    private static Plan plan(long[] shape, float eps, boolean training) {
        return PLANS.get().computeIfAbsent(new Key(shape[0], shape[1], shape[2], shape[3], eps, training), Plan::new);
    }

    private record Key(long n, long c, long h, long w, float eps, boolean training) {
    }

    /** Descriptors and primitives for one shape and mode, kept for the thread's lifetime. */
    private static final class Plan {
        final Key key;
        final memory.desc data;
        final memory.desc stats;
        final memory.desc scaleShift;
        final batch_normalization_forward.primitive_desc forwardPd;
        final primitive forward;
        primitive backward;

        Plan(Key k) {
            this.key = k;
            try (PointerScope temporaries = new PointerScope()) {
                data = OneDnn.keep(new memory.desc(new long[] {k.n(), k.c(), k.h(), k.w()}, memory.data_type.f32,
                        memory.format_tag.nchw));
                stats = OneDnn.keep(new memory.desc(new long[] {k.c()}, memory.data_type.f32, memory.format_tag.a));
                scaleShift = OneDnn.keep(new memory.desc(new long[] {2, k.c()}, memory.data_type.f32, memory.format_tag.nc));
                int flags = dnnl.normalization_flags.use_scale_shift.value;
                if (!k.training()) {
                    flags |= dnnl.normalization_flags.use_global_stats.value;
                }
                batch_normalization_forward.desc d = new batch_normalization_forward.desc(
                        (k.training() ? dnnl.prop_kind.forward_training : dnnl.prop_kind.forward_inference).value,
                        data, k.eps(), flags);
                forwardPd = OneDnn.keep(new batch_normalization_forward.primitive_desc(d, OneDnn.engine()));
                forward = OneDnn.keep(new batch_normalization_forward(forwardPd));
            }
        }

        synchronized void prepareBackward() {
            if (backward != null) {
                return;
            }
            try (PointerScope temporaries = new PointerScope()) {
                batch_normalization_backward.desc d = new batch_normalization_backward.desc(
                        dnnl.prop_kind.backward.value, data, data, key.eps(),
                        dnnl.normalization_flags.use_scale_shift.value);
                batch_normalization_backward.primitive_desc pd = new batch_normalization_backward.primitive_desc(
                        d, OneDnn.engine(), forwardPd);
                backward = OneDnn.keep(new batch_normalization_backward(pd));
            }
        }
    }
}
