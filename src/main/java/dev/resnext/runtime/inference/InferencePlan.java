package dev.resnext.runtime.inference;

import dev.resnext.backend.OneDnn;
import dev.resnext.backend.OneDnnGroupedConvolution;
import dev.resnext.runtime.GraphPatterns;
import dev.resnext.runtime.ResNeXtTopology;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.pooling_forward;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A ResNeXt graph compiled for inference on oneDNN: one execution plan per input shape.
 *
 * <p>What it does that the layer-by-layer graph cannot: batch normalisation is folded into the
 * preceding convolution's weights and bias; ReLU and the residual sum run as post-ops of the
 * convolution that feeds them (the block's last convolution accumulates onto its shortcut in
 * place); a block's group branches run as one grouped convolution; activations stay in the layout
 * oneDNN prefers (blocked) from the stem to the global pooling, with reorders only at the input and
 * after the pooling; primitives, folded weights and activation buffers are made once per input
 * shape, and buffers are reused as soon as no later step reads them. The classifier (a small
 * matrix product) and the softmax/sigmoid run on ND4J.
 *
 * <p>The graph, its vertex names, its parameters and any saved zip are untouched; the plan holds
 * copies of the folded weights, taken when it is compiled. {@link #compile} returns null for a graph
 * it does not recognise (the caller then runs the graph itself). Not thread-safe beyond its own
 * synchronisation: calls are serialised.
 */
public final class InferencePlan implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(InferencePlan.class);

    /** Number format of weights and activations inside the plan (inputs and outputs are float32). */
    public enum Precision {
        /** float32 throughout. */
        FP32,
        /** bfloat16 weights and activations, float32 bias and accumulation (needs AVX512_BF16 or AMX). */
        BF16;

        /** Parses "fp32" or "bf16". */
        public static Precision parse(String s) {
            return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "fp32", "float32", "float" -> FP32;
                case "bf16", "bfloat16" -> BF16;
                default -> throw new IllegalArgumentException("unknown precision '" + s + "'; use fp32 or bf16");
            };
        }
    }

    private final Network net;
    private final Precision precision;
    /**
     * Compiled plans by input shape, least recently used first. Eight, so that a server's batch sizes
     * (rounded up to powers of two) and a job's full and last partial batches stay compiled: compiling
     * costs far more than a forward pass.
     */
    private static final int MAX_SHAPES = 8;
    private final Map<List<Long>, Compiled> byShape = new java.util.LinkedHashMap<>(16, 0.75f, true);
    private final WeightCache weights = new WeightCache();

    private InferencePlan(Network net, Precision precision) {
        this.net = net;
        this.precision = precision;
    }

    /**
     * Whether this CPU runs bfloat16 convolutions natively (AVX512_BF16 or AMX); elsewhere oneDNN
     * would emulate them slower than float32.
     */
    public static boolean bf16Supported() {
        return OneDnn.cpuHas("avx512_bf16") || OneDnn.cpuHas("amx_bf16");
    }

    /** {@link #compile(ComputationGraph, Precision)} in float32. */
    public static InferencePlan compile(ComputationGraph graph) {
        return compile(graph, Precision.FP32);
    }

    /** A plan for {@code graph}, or null when its structure or settings are not the ones this plan knows. */
    public static InferencePlan compile(ComputationGraph graph, Precision precision) {
        if (!dev.resnext.backend.Backends.oneDnnKernelsActive()
                || graph.getConfiguration().getDataType() != DataType.FLOAT) {
            return null;
        }
        try {
            Network n = Network.read(graph);
            return n == null ? null : new InferencePlan(n, precision);
        } catch (RuntimeException e) {
            log.debug("inference plan not available for this graph: {}", e.toString());
            return null;
        }
    }

    /** Logits (the classifier's output, before softmax/sigmoid) of an NCHW float input. */
    public synchronized INDArray logits(INDArray input) {
        INDArray x = floatInput(input);
        INDArray z = Nd4j.createUninitializedDetached(DataType.FLOAT, x.size(0), net.fcWt.size(0));
        compiledFor(x).run(x, z);
        return z;
    }

    /** Probabilities (softmax, or sigmoid for multi-label heads) of an NCHW float input. */
    public synchronized INDArray output(INDArray input) {
        INDArray z = logits(input);
        return net.sigmoid ? Transforms.sigmoid(z, false) : Transforms.softmax(z, false);
    }

    /** The globally pooled features [N, C] (the classifier's input). */
    public synchronized INDArray pooled(INDArray input) {
        INDArray x = floatInput(input);
        return compiledFor(x).run(x, null);
    }

    private INDArray floatInput(INDArray input) {
        if (input.rank() != 4 || input.size(1) != net.inChannels) {
            throw new IllegalArgumentException("input must be [N, " + net.inChannels + ", H, W], got "
                    + java.util.Arrays.toString(input.shape()));
        }
        return input.dataType() == DataType.FLOAT && OneDnn.isDense(input) ? input
                : input.castTo(DataType.FLOAT).dup('c');
    }

    private Compiled compiledFor(INDArray x) {
        List<Long> key = List.of(x.size(0), x.size(2), x.size(3));
        Compiled c = byShape.get(key);
        if (c == null) {
            if (byShape.size() >= MAX_SHAPES) {
                var eldest = byShape.entrySet().iterator();
                eldest.next().getValue().close();
                eldest.remove();
            }
            c = new Compiled(net, x.shape(), precision == Precision.BF16 ? memory.data_type.bf16
                    : memory.data_type.f32, weights);
            byShape.put(key, c);
        }
        return c;
    }

    @Override
    public synchronized void close() {
        byShape.values().forEach(Compiled::close);
        byShape.clear();
        weights.close();
    }

    /** Input shapes compiled now (for tests). */
    synchronized int compiledShapes() {
        return byShape.size();
    }

    /**
     * Weights in oneDNN's layouts, shared by the plans of every input shape: the layout a kernel wants
     * rarely depends on the batch, and a ResNeXt-50's weights are 100 MB.
     */
    private static final class WeightCache implements AutoCloseable {
        private record Entry(memory.desc desc, memory memory) {
        }

        private final Map<String, List<Entry>> byConv = new HashMap<>();

        memory get(Conv c, long[] dims, memory.desc wanted) {
            List<Entry> entries = byConv.computeIfAbsent(c.name(), k -> new ArrayList<>());
            for (Entry e : entries) {
                if (e.desc().equals(wanted)) {
                    return e.memory();
                }
            }
            memory.desc plain = new memory.desc(dims, memory.data_type.f32,
                    c.groups() == 1 ? memory.format_tag.oihw : memory.format_tag.goihw);
            memory user = new memory(plain, OneDnn.engine());
            new org.bytedeco.javacpp.FloatPointer(user.get_data_handle()).put(c.weights());
            memory m = user;
            if (!wanted.equals(plain)) {
                m = new memory(wanted, OneDnn.engine());
                stream s = OneDnn.stream();
                new reorder(user, m).execute(s, user, m);
                s._wait();
            }
            memory.desc desc = m.get_desc();
            OneDnn.keep(m);
            OneDnn.keep(desc);
            entries.add(new Entry(desc, m));
            return m;
        }

        @Override
        public void close() {
            for (List<Entry> entries : byConv.values()) {
                for (Entry e : entries) {
                    e.memory().releaseReference();
                    e.desc().releaseReference();
                }
            }
            byConv.clear();
        }
    }

    // ------------------------------------------------------------------------------------------
    // the network as a list of fused steps

    /** A convolution with its batch normalisation folded in (weights [oc, ic/g, kh, kw] as float, bias [oc]). */
    record Conv(String name, float[] weights, float[] bias, long outChannels, long inChannels, int groups,
                int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw) {
    }

    /** The block structure of a recognised ResNeXt. */
    private static final class Network {
        long inChannels;
        Conv stem;
        int[] pool;            // kernel h, w, stride h, w, pad h, w; null without a max pool
        final List<Block> blocks = new ArrayList<>();
        INDArray fcWt;   // [classes, features]: oneDNN's inner-product weights
        INDArray fcB;    // [classes], zeros without a bias
        boolean sigmoid;

        static Network read(ComputationGraph graph) {
            ResNeXtTopology t = ResNeXtTopology.read(graph.getConfiguration());
            Map<String, GraphVertex> v = graph.getConfiguration().getVertices();
            Network n = new Network();
            n.stem = fold(graph, v, t.stem().conv(), t.stem().bn());
            n.inChannels = n.stem.inChannels();
            if (t.stemPool() != null) {
                SubsamplingLayer p = (SubsamplingLayer) layer(v, t.stemPool());
                if (p.getPoolingType() != org.deeplearning4j.nn.conf.layers.PoolingType.MAX
                        || p.getConvolutionMode() != ConvolutionMode.Truncate) {
                    return null;
                }
                n.pool = new int[] {p.getKernelSize()[0], p.getKernelSize()[1], p.getStride()[0], p.getStride()[1],
                        p.getPadding()[0], p.getPadding()[1]};
            }
            for (ResNeXtTopology.Block tb : t.blocks()) {
                Block blk = new Block();
                blk.conv1 = fold(graph, v, tb.u1().conv(), tb.u1().bn());
                blk.conv2 = foldGrouped(graph, v, tb.u2().convs(), tb.u2().bn());
                if (blk.conv2 == null) {
                    return null;
                }
                blk.conv3 = fold(graph, v, tb.u3().conv(), tb.u3().bn());
                if (tb.downsample() != null) {
                    blk.downsample = fold(graph, v, tb.downsample().conv(), tb.downsample().bn());
                }
                n.blocks.add(blk);
            }
            if (!(layer(v, t.headPool()) instanceof GlobalPoolingLayer gp) || gp.getPoolingType() != PoolingType.AVG
                    || !(layer(v, t.headFc()) instanceof DenseLayer fc)
                    || !(fc.getActivationFn() instanceof ActivationIdentity)
                    || !(layer(v, t.headLoss()) instanceof LossLayer loss)) {
                return null;
            }
            if (loss.getActivationFn() instanceof ActivationSigmoid) {
                n.sigmoid = true;
            } else if (!(loss.getActivationFn() instanceof ActivationSoftmax)) {
                return null;
            }
            org.deeplearning4j.nn.api.Layer fcl = graph.getLayer(t.headFc());
            n.fcWt = fcl.getParam("W").transpose().dup('c');
            n.fcB = fc.hasBias() ? fcl.getParam("b").reshape(fc.getNOut()).dup('c')
                    : Nd4j.zeros(DataType.FLOAT, fc.getNOut());
            return n;
        }
    }

    /** conv1/bn1/relu1, grouped 3x3/bn2/relu2, conv3/bn3 + shortcut, sum, relu. */
    private static final class Block {
        Conv conv1;
        Conv conv2;
        Conv conv3;
        Conv downsample; // null: identity shortcut
    }

    private static Layer layer(Map<String, GraphVertex> v, String name) {
        return GraphPatterns.layer(v, name);
    }

    /** The branches' convolutions as one grouped convolution with bn folded in. */
    private static Conv foldGrouped(ComputationGraph graph, Map<String, GraphVertex> v, List<String> branches,
                                    String bn) {
        List<INDArray> ws = new ArrayList<>();
        ConvolutionLayer first = null;
        for (String br : branches) {
            if (!(layer(v, br) instanceof ConvolutionLayer c) || c.hasBias()) {
                return null;
            }
            if (first != null && (!java.util.Arrays.equals(c.getKernelSize(), first.getKernelSize())
                    || !java.util.Arrays.equals(c.getStride(), first.getStride())
                    || !java.util.Arrays.equals(c.getPadding(), first.getPadding())
                    || c.getNIn() != first.getNIn() || c.getNOut() != first.getNOut())) {
                return null;
            }
            first = c;
            ws.add(graph.getLayer(br).getParam("W"));
        }
        INDArray w = Nd4j.concat(0, ws.toArray(new INDArray[0]));
        return foldWith(graph, v, branches.get(0), first, w, null, bn, branches.size());
    }

    private static Conv fold(ComputationGraph graph, Map<String, GraphVertex> v, String conv, String bn) {
        if (!(layer(v, conv) instanceof ConvolutionLayer c)) {
            throw new IllegalStateException(conv + " is not a convolution");
        }
        org.deeplearning4j.nn.api.Layer l = graph.getLayer(conv);
        INDArray b = c.hasBias() ? l.getParam("b") : null;
        return foldWith(graph, v, conv, c, l.getParam("W"), b, bn, 1);
    }

    /** w' = w * gamma / sqrt(var + eps) per output channel, b' = beta + (b - mean) * gamma / sqrt(var + eps). */
    private static Conv foldWith(ComputationGraph graph, Map<String, GraphVertex> v, String name, ConvolutionLayer c,
                                 INDArray w, INDArray bias, String bn, int groups) {
        if (c.getConvolutionMode() != ConvolutionMode.Truncate || c.getCnn2dDataFormat()
                != org.deeplearning4j.nn.conf.CNN2DFormat.NCHW || !(c.getActivationFn() instanceof ActivationIdentity)
                || c.getIDropout() != null) {
            throw new IllegalStateException(name + " has settings the plan does not handle");
        }
        if (!(layer(v, bn) instanceof BatchNormalization bnc) || bnc.isUseLogStd()) {
            throw new IllegalStateException(bn + " is not a batch normalisation storing the variance");
        }
        org.deeplearning4j.nn.api.Layer bl = graph.getLayer(bn);
        long oc = w.size(0);
        double[] gamma = bnc.isLockGammaBeta() ? filled(oc, bnc.getGamma()) : bl.getParam("gamma").toDoubleVector();
        double[] beta = bnc.isLockGammaBeta() ? filled(oc, bnc.getBeta()) : bl.getParam("beta").toDoubleVector();
        double[] mean = bl.getParam("mean").toDoubleVector();
        double[] var = bl.getParam("var").toDoubleVector();
        double[] b0 = bias == null ? new double[(int) oc] : bias.toDoubleVector();
        float[] wf = w.castTo(DataType.FLOAT).dup('c').data().asFloat();
        long per = wf.length / oc;
        float[] bf = new float[(int) oc];
        for (int o = 0; o < oc; o++) {
            double scale = gamma[o] / Math.sqrt(var[o] + bnc.getEps());
            for (long i = o * per; i < (o + 1) * per; i++) {
                wf[(int) i] = (float) (wf[(int) i] * scale);
            }
            bf[o] = (float) (beta[o] + (b0[o] - mean[o]) * scale);
        }
        int[] k = c.getKernelSize();
        int[] s = c.getStride();
        int[] p = c.getPadding();
        int[] d = c.getDilation();
        return new Conv(name, wf, bf, oc, w.size(1) * groups, groups, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1]);
    }

    private static double[] filled(long n, double value) {
        double[] a = new double[(int) n];
        java.util.Arrays.fill(a, value);
        return a;
    }

    // ------------------------------------------------------------------------------------------
    // one input shape: primitives, weights in oneDNN's layouts, activation buffers

    /** An activation: its layout, and the buffer slot it lives in. */
    private static final class Act {
        final memory.desc desc;
        int slot = -1;
        int lastUse = -1;

        Act(memory.desc desc) {
            this.desc = desc;
        }
    }

    /** One step: a primitive and the activations it reads and writes. */
    private static final class Step {
        final primitive prim;
        final Map<Integer, Act> acts = new HashMap<>();   // DNNL_ARG_* -> activation
        final Map<Integer, memory> fixed = new HashMap<>(); // weights, bias
        IntMemoryMap args;

        Step(primitive prim) {
            this.prim = prim;
        }
    }

    private static final class Compiled implements AutoCloseable {
        final List<Step> steps = new ArrayList<>();
        final dev.resnext.backend.KeptNatives kept = new dev.resnext.backend.KeptNatives();
        final memory userInput;
        final Act pooled;
        final long batch;
        final long channels;
        final INDArray out;
        final memory.data_type dt;
        memory pooledUser;

        private final WeightCache weightCache;

        Compiled(Network n, long[] inShape, memory.data_type dt, WeightCache weightCache) {
            long t0 = System.nanoTime();
            this.dt = dt;
            this.weightCache = weightCache;
            batch = inShape[0];
            try (PointerScope scope = new PointerScope()) {
                memory.desc inPlain = keep(new memory.desc(inShape, memory.data_type.f32, memory.format_tag.nchw));
                userInput = keep(new memory(inPlain, OneDnn.engine(), new Pointer()));
                Act input = new Act(inPlain);
                input.slot = -2; // the caller's array
                long[] shape = inShape.clone();
                Act x = conv(n.stem, input, shape, null, true);
                if (n.pool != null) {
                    x = maxPool(n.pool, x, shape);
                }
                for (Block b : n.blocks) {
                    long[] inS = shape.clone();
                    Act t1 = conv(b.conv1, x, shape, null, true);
                    Act t2 = conv(b.conv2, t1, shape, null, true);
                    long[] afterS = shape.clone();
                    Act shortcut = x;
                    if (b.downsample != null) {
                        long[] dsS = inS.clone();
                        shortcut = conv(b.downsample, x, dsS, null, false);
                    }
                    // conv3 + bn3, plus the shortcut already in the destination, then ReLU
                    shape = afterS;
                    x = conv(b.conv3, t2, shape, shortcut, true);
                }
                channels = shape[1];
                // global average pooling, then back to plain [N, C]
                long[] dst = {shape[0], shape[1], 1, 1};
                pooling_forward.desc pd = new pooling_forward.desc(dnnl.prop_kind.forward_inference,
                        dnnl.algorithm.pooling_avg_exclude_padding, x.desc, any(dst), new long[] {1, 1},
                        new long[] {shape[2], shape[3]}, new long[] {0, 0}, new long[] {0, 0});
                pooling_forward.primitive_desc ppd = new pooling_forward.primitive_desc(pd, OneDnn.engine());
                Step s = new Step(keep(new pooling_forward(ppd)));
                s.acts.put(dnnl.DNNL_ARG_SRC, x);
                pooled = new Act(keep(ppd.dst_desc()));
                s.acts.put(dnnl.DNNL_ARG_DST, pooled);
                steps.add(s);
                out = Nd4j.createUninitializedDetached(DataType.FLOAT, batch, channels);
                assignSlots();
                classifier(n);
            }
            log.debug("inference plan for input {} ({}): {} steps compiled in {} ms; kernels {}",
                    java.util.Arrays.toString(inShape), dt, steps.size(), (System.nanoTime() - t0) / 1_000_000, impls);
        }

        private <P extends Pointer> P keep(P p) {
            return kept.keep(p);
        }

        private memory.desc any(long[] dims) {
            return new memory.desc(dims, dt, memory.format_tag.any);
        }


        /** A fused convolution step; {@code sum}: accumulate onto that activation (in its buffer). */
        private Act conv(Conv c, Act src, long[] shape, Act sum, boolean relu) {
            OneDnnGroupedConvolution.Geometry g = OneDnnGroupedConvolution.Geometry.of(
                    new long[] {shape[0], c.inChannels(), shape[2], shape[3]}, c.outChannels(), c.groups(), c.kh(),
                    c.kw(), c.sh(), c.sw(), c.ph(), c.pw(), c.dh(), c.dw());
            long[] dstDims = g.dstDims();
            long[] wDims = c.groups() == 1 ? new long[] {c.outChannels(), c.inChannels(), c.kh(), c.kw()}
                    : g.weightDims();
            long[] padR = g.padRight();
            memory.desc biasDesc = new memory.desc(new long[] {c.outChannels()}, memory.data_type.f32,
                    memory.format_tag.x);
            // oneDNN chooses each step's layouts; a reorder goes in only where a convolution has no
            // optimised kernel for the layout its input is in (e.g. the grouped 3x3 convolutions of
            // 4-channel groups want a different one than the 1x1 convolutions around them)
            memory.desc dstDesc = sum != null ? sum.desc : any(dstDims);
            primitive_attr attr = new primitive_attr();
            post_ops ops = new post_ops();
            if (sum != null) {
                ops.append_sum();   // scale 1
            }
            if (relu) {
                ops.append_eltwise(1.0f, dnnl.algorithm.eltwise_relu, 0f, 0f);
            }
            attr.set_post_ops(ops);
            // the activation's own layout first, so that no reorder is needed between steps; oneDNN's
            // choice (and a reorder) only where it has no optimised kernel for that layout
            long[] srcDims = {shape[0], shape[1], shape[2], shape[3]};
            memory.desc srcDesc = src.slot == -2 ? any(srcDims) : src.desc;
            convolution_forward.primitive_desc pd = convPd(c, srcDesc, wDims, biasDesc, dstDesc, padR, attr);
            if (isReference(pd)) {
                pd = convPd(c, any(srcDims), wDims, biasDesc, sum != null ? sum.desc : any(dstDims), padR, attr);
                if (isReference(pd)) {
                    log.info("no optimised oneDNN kernel for {} ({}); it runs on the reference one", c.name(),
                            java.util.Arrays.toString(dstDims));
                }
            }
            impls.merge("conv " + pd.impl_info_str().getString(), 1, Integer::sum);
            Act in = src;
            memory.desc wantSrc = keep(pd.src_desc());
            if (!wantSrc.equals(src.desc)) {
                log.debug("reorder before {} (kernel {})", c.name(), pd.impl_info_str().getString());
                in = reorderStep(src, wantSrc);
            }
            Step s = new Step(keep(new convolution_forward(pd)));
            s.acts.put(dnnl.DNNL_ARG_SRC, in);
            s.fixed.put(dnnl.DNNL_ARG_WEIGHTS, weightCache.get(c, wDims, keep(pd.weights_desc())));
            memory bias = keep(new memory(keep(pd.bias_desc()), OneDnn.engine()));
            new org.bytedeco.javacpp.FloatPointer(bias.get_data_handle()).put(c.bias());
            s.fixed.put(dnnl.DNNL_ARG_BIAS, bias);
            Act dst;
            if (sum != null) {
                dst = new Act(sum.desc);
                dst.slot = -3; // shares the shortcut's buffer: resolved in assignSlots
                sumOf.put(dst, sum);
            } else {
                dst = new Act(keep(pd.dst_desc()));
            }
            s.acts.put(dnnl.DNNL_ARG_DST, dst);
            steps.add(s);
            shape[0] = dstDims[0];
            shape[1] = dstDims[1];
            shape[2] = dstDims[2];
            shape[3] = dstDims[3];
            return dst;
        }

        private static convolution_forward.primitive_desc convPd(Conv c, memory.desc src, long[] wDims,
                                                                  memory.desc bias, memory.desc dst, long[] padR,
                                                                  primitive_attr attr) {
            convolution_forward.desc d = new convolution_forward.desc(dnnl.prop_kind.forward_inference,
                    dnnl.algorithm.convolution_direct, src, new memory.desc(wDims, src.data_type(),
                    memory.format_tag.any), bias, dst, new long[] {c.sh(), c.sw()},
                    new long[] {c.dh() - 1, c.dw() - 1}, new long[] {c.ph(), c.pw()}, padR);
            return new convolution_forward.primitive_desc(d, attr, OneDnn.engine());
        }

        private static boolean isReference(convolution_forward.primitive_desc pd) {
            return pd.impl_info_str().getString().startsWith("ref");
        }

        private final Map<Act, Act> sumOf = new HashMap<>();
        private final Map<String, Integer> impls = new java.util.TreeMap<>();

        private Act maxPool(int[] p, Act src, long[] shape) {
            long oh = (shape[2] + 2L * p[4] - p[0]) / p[2] + 1;
            long ow = (shape[3] + 2L * p[5] - p[1]) / p[3] + 1;
            long[] dst = {shape[0], shape[1], oh, ow};
            long[] padR = {(oh - 1) * p[2] + p[0] - shape[2] - p[4], (ow - 1) * p[3] + p[1] - shape[3] - p[5]};
            pooling_forward.desc d = new pooling_forward.desc(dnnl.prop_kind.forward_inference,
                    dnnl.algorithm.pooling_max, src.desc, any(dst), new long[] {p[2], p[3]},
                    new long[] {p[0], p[1]}, new long[] {p[4], p[5]}, padR);
            pooling_forward.primitive_desc pd = new pooling_forward.primitive_desc(d, OneDnn.engine());
            impls.merge("pool " + pd.impl_info_str().getString(), 1, Integer::sum);
            Step s = new Step(keep(new pooling_forward(pd)));
            s.acts.put(dnnl.DNNL_ARG_SRC, src);
            Act out = new Act(keep(pd.dst_desc()));
            s.acts.put(dnnl.DNNL_ARG_DST, out);
            steps.add(s);
            shape[2] = oh;
            shape[3] = ow;
            return out;
        }

        private Act reorderStep(Act src, memory.desc to) {
            reorder.primitive_desc rpd = new reorder.primitive_desc(OneDnn.engine(), src.desc, OneDnn.engine(), to);
            impls.merge("reorder " + rpd.impl_info_str().getString(), 1, Integer::sum);
            reorder r = keep(new reorder(rpd));
            Step s = new Step(r);
            s.acts.put(dnnl.DNNL_ARG_FROM, src);
            Act out = new Act(to);
            s.acts.put(dnnl.DNNL_ARG_TO, out);
            steps.add(s);
            return out;
        }

        /**
         * Gives every activation a buffer, reusing a buffer once its last reader has run; a
         * convolution that accumulates onto its shortcut writes into the shortcut's buffer.
         */
        private void assignSlots() {
            for (int i = 0; i < steps.size(); i++) {
                for (Act a : steps.get(i).acts.values()) {
                    a.lastUse = i;
                }
            }
            // a shortcut lives until the convolution that accumulates onto it
            for (Map.Entry<Act, Act> e : sumOf.entrySet()) {
                for (int i = 0; i < steps.size(); i++) {
                    if (steps.get(i).acts.containsValue(e.getKey())) {
                        e.getValue().lastUse = Math.max(e.getValue().lastUse, i);
                    }
                }
            }
            List<Long> slotBytes = new ArrayList<>();
            List<Integer> freeAfter = new ArrayList<>();
            Map<Act, Integer> slotOf = new HashMap<>();
            for (int i = 0; i < steps.size(); i++) {
                Step s = steps.get(i);
                for (Map.Entry<Integer, Act> e : s.acts.entrySet()) {
                    Act a = e.getValue();
                    if (a.slot != -1) {
                        continue;
                    }
                    // the output of this step: a free slot (whose last reader ran before this step)
                    long bytes = a.desc.get_size();
                    int best = -1;
                    for (int k = 0; k < slotBytes.size(); k++) {
                        if (freeAfter.get(k) < i && (best < 0 || slotBytes.get(k) < slotBytes.get(best))
                                && slotBytes.get(k) >= bytes) {
                            best = k;
                        }
                    }
                    if (best < 0) {
                        for (int k = 0; k < slotBytes.size(); k++) {
                            if (freeAfter.get(k) < i) {
                                best = k;
                                slotBytes.set(k, Math.max(slotBytes.get(k), bytes));
                                break;
                            }
                        }
                    }
                    if (best < 0) {
                        slotBytes.add(bytes);
                        freeAfter.add(-1);
                        best = slotBytes.size() - 1;
                    }
                    a.slot = best;
                    freeAfter.set(best, a.lastUse);
                }
                for (Act a : s.acts.values()) {
                    if (a.slot == -3) {
                        Act shortcut = sumOf.get(a);
                        a.slot = shortcut.slot;
                        freeAfter.set(a.slot, Math.max(freeAfter.get(a.slot), a.lastUse));
                    }
                }
            }
            List<memory> slots = new ArrayList<>();
            Map<Act, memory> mems = new HashMap<>();
            for (long b : slotBytes) {
                slots.add(keep(new memory(new memory.desc(new long[] {Math.max(1, b)}, memory.data_type.u8,
                        memory.format_tag.a), OneDnn.engine())));
            }
            for (Step s : steps) {
                s.args = keep(new IntMemoryMap());
                for (Map.Entry<Integer, memory> f : s.fixed.entrySet()) {
                    s.args.put(f.getKey(), f.getValue());
                }
                for (Map.Entry<Integer, Act> e : s.acts.entrySet()) {
                    Act a = e.getValue();
                    memory m = a.slot == -2 ? userInput : mems.computeIfAbsent(a,
                            k -> keep(new memory(k.desc, OneDnn.engine(), slots.get(k.slot).get_data_handle())));
                    s.args.put(e.getKey(), m);
                }
            }
            memory.desc plainPooled = keep(new memory.desc(new long[] {batch, channels, 1, 1}, memory.data_type.f32,
                    memory.format_tag.nchw));
            pooledUser = keep(new memory(plainPooled, OneDnn.engine(), new Pointer()));
            memory pooledMem = mems.get(pooled);
            reorder r = keep(new reorder(pooledMem, pooledUser));
            Step s = new Step(r);
            s.args = keep(new IntMemoryMap());
            s.args.put(dnnl.DNNL_ARG_FROM, pooledMem);
            s.args.put(dnnl.DNNL_ARG_TO, pooledUser);
            steps.add(s);
            long total = slotBytes.stream().mapToLong(Long::longValue).sum();
            log.debug("inference plan activations: {} buffers, {} MB", slotBytes.size(), total >> 20);
        }

        // the classifier: one oneDNN inner product on the plain pooled features (a small matrix
        // product, cheaper here than an ND4J call at batch 1)
        memory ipSrc;
        memory ipDst;
        primitive ip;
        IntMemoryMap ipArgs;

        private void classifier(Network n) {
            long classes = n.fcWt.size(0);
            memory.desc src = keep(OneDnn.plain(batch, channels));
            memory.desc w = keep(OneDnn.plain(classes, channels));
            memory.desc b = keep(OneDnn.plain(classes));
            memory.desc dst = keep(OneDnn.plain(batch, classes));
            org.bytedeco.dnnl.inner_product_forward.desc d = new org.bytedeco.dnnl.inner_product_forward.desc(
                    dnnl.prop_kind.forward_inference, src, w, b, dst);
            org.bytedeco.dnnl.inner_product_forward.primitive_desc pd = keep(
                    new org.bytedeco.dnnl.inner_product_forward.primitive_desc(d, OneDnn.engine()));
            ip = keep(new org.bytedeco.dnnl.inner_product_forward(pd));
            ipSrc = keep(new memory(src, OneDnn.engine(), new Pointer()));
            ipDst = keep(new memory(dst, OneDnn.engine(), new Pointer()));
            ipArgs = keep(new IntMemoryMap());
            ipArgs.put(dnnl.DNNL_ARG_SRC, ipSrc);
            ipArgs.put(dnnl.DNNL_ARG_WEIGHTS, keep(OneDnn.bind(w, n.fcWt)));
            ipArgs.put(dnnl.DNNL_ARG_BIAS, keep(OneDnn.bind(b, n.fcB)));
            ipArgs.put(dnnl.DNNL_ARG_DST, ipDst);
        }

        /** The pooled features; with {@code logits} non-null, the classifier's output written there too. */
        INDArray run(INDArray x, INDArray logits) {
            stream s = OneDnn.stream();
            userInput.set_data_handle(OneDnn.pointer(x));
            INDArray result = out.dup(); // the caller keeps its own array; the plan's stays
            pooledUser.set_data_handle(OneDnn.pointer(result));
            for (Step step : steps) {
                step.prim.execute(s, step.args);
            }
            if (logits != null) {
                ipSrc.set_data_handle(OneDnn.pointer(result));
                ipDst.set_data_handle(OneDnn.pointer(logits));
                ip.execute(s, ipArgs);
            }
            s._wait();
            return result;
        }

        @Override
        public void close() {
            kept.close();
        }
    }
}
