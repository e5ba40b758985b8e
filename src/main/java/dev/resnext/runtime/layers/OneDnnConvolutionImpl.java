package dev.resnext.runtime.layers;

import dev.resnext.backend.OneDnn;
import dev.resnext.backend.OneDnnGroupedConvolution;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2DDerivative;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runtime layer of {@link OneDnnConvolution}: DL4J's {@link ConvolutionLayer} with two shortcuts for
 * the common case (float, NCHW, no bias, identity activation, no dropout or weight noise, CPU):
 * <ul>
 *   <li>forward on {@link OneDnnGroupedConvolution} (one group), whose primitives are created once
 *   per shape. DL4J's oneDNN helper goes through libnd4j, which builds (JIT-compiles) the oneDNN
 *   primitives on every call: a [8, 256, 56, 56] 1x1 convolution took ~75 ms there and ~11 ms here;</li>
 *   <li>backward on the same cached primitives (data and weight gradients), without DL4J's
 *   recomputation of the forward pass (it needs the pre-activation only for a non-identity
 *   activation; with the cache mode NONE it recomputes it every step). Set
 *   resnext.libnd4jConvBackward=true (see RuntimeSettings) to take libnd4j's conv2d_bp instead (same results; it
 *   re-creates its oneDNN primitives on every call).</li>
 * </ul>
 * Anything else runs DL4J's code unchanged.
 */
public class OneDnnConvolutionImpl extends ConvolutionLayer {


    private final boolean eligible;
    private final boolean libnd4jBackward = dev.resnext.RuntimeSettings.current().libnd4jConvBackward();
    private OpContext backwardContext;

    public OneDnnConvolutionImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
        org.deeplearning4j.nn.conf.layers.ConvolutionLayer c = layerConf();
        eligible = dataType == DataType.FLOAT && !c.hasBias() && c.getActivationFn() instanceof ActivationIdentity
                && c.getIDropout() == null && c.getWeightNoise() == null
                && c.getCnn2dDataFormat() == CNN2DFormat.NCHW && c.getConvolutionMode() != ConvolutionMode.Same
                && OneDnn.isCpuBackend()
                && dev.resnext.RuntimeSettings.current().oneDnnConvolution()
                && OneDnnGroupedConvolution.available();
    }

    /** Whether this layer takes the oneDNN shortcuts. */
    public boolean isOneDnn() {
        return eligible;
    }

    private boolean fast(INDArray in) {
        return eligible && in != null && in.rank() == 4 && in.dataType() == DataType.FLOAT;
    }

    /** The convolution's shape for an input of shape {@code in}, with {@code groups} groups. */
    OneDnnGroupedConvolution.Geometry geometry(long[] in, int groups) {
        org.deeplearning4j.nn.conf.layers.ConvolutionLayer c = layerConf();
        int[] k = c.getKernelSize();
        int[] s = c.getStride();
        int[] p = c.getPadding();
        int[] d = c.getDilation();
        return OneDnnGroupedConvolution.Geometry.of(in, c.getNOut() * (long) groups, groups, k[0], k[1], s[0], s[1],
                p[0], p[1], d[0], d[1]);
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (!fast(input)) {
            return super.activate(training, workspaceMgr);
        }
        OneDnnGroupedConvolution.Geometry g = geometry(input.shape(), 1);
        INDArray in = OneDnn.isDense(input) ? input : workspaceMgr.dup(ArrayType.FF_WORKING_MEM, input, 'c');
        INDArray w = getParam(ConvolutionParamInitializer.WEIGHT_KEY);
        if (!OneDnn.isDense(w)) {
            w = workspaceMgr.dup(ArrayType.FF_WORKING_MEM, w, 'c');
        }
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT,
                new long[] {g.batch(), g.outChannels(), g.outH(), g.outW()}, 'c');
        OneDnnGroupedConvolution.forward(g, in, w, out, workspaceMgr, ArrayType.FF_WORKING_MEM);
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        if (!fast(input) || epsilon.dataType() != DataType.FLOAT) {
            return super.backpropGradient(epsilon, workspaceMgr);
        }
        INDArray w = getParam(ConvolutionParamInitializer.WEIGHT_KEY);
        INDArray dW = gradientViews.get(ConvolutionParamInitializer.WEIGHT_KEY);
        INDArray dIn = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, DataType.FLOAT, input.shape(), 'c');
        if (libnd4jBackward) {
            libnd4jBackward(w, epsilon, dIn, dW);
        } else {
            INDArray x = OneDnn.isDense(input) ? input : workspaceMgr.dup(ArrayType.BP_WORKING_MEM, input, 'c');
            INDArray dy = OneDnn.isDense(epsilon) ? epsilon : workspaceMgr.dup(ArrayType.BP_WORKING_MEM, epsilon, 'c');
            INDArray wd = OneDnn.isDense(w) ? w : workspaceMgr.dup(ArrayType.BP_WORKING_MEM, w, 'c');
            if (OneDnn.isDense(dW)) {
                OneDnnGroupedConvolution.backward(geometry(x.shape(), 1), x, wd, dy, dIn, dW, workspaceMgr,
                        ArrayType.BP_WORKING_MEM);
            } else {
                INDArray dWd = workspaceMgr.createUninitialized(ArrayType.BP_WORKING_MEM, DataType.FLOAT, dW.shape(), 'c');
                OneDnnGroupedConvolution.backward(geometry(x.shape(), 1), x, wd, dy, dIn, dWd, workspaceMgr,
                        ArrayType.BP_WORKING_MEM);
                dW.assign(dWd);
            }
        }
        Gradient g = new DefaultGradient();
        g.gradientForVariable().put(ConvolutionParamInitializer.WEIGHT_KEY, dW);
        return new Pair<>(g, dIn);
    }

    private void libnd4jBackward(INDArray w, INDArray epsilon, INDArray dIn, INDArray dW) {
        org.deeplearning4j.nn.conf.layers.ConvolutionLayer c = layerConf();
        if (backwardContext == null) {
            int[] k = c.getKernelSize();
            int[] s = c.getStride();
            int[] p = c.getPadding();
            int[] d = c.getDilation();
            backwardContext = Nd4j.getExecutioner().buildContext();
            // same arguments as DL4J's MKLDNNConvHelper: not "same" mode, NCHW, weights [oC, iC, kH, kW]
            backwardContext.setIArguments(k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], 0, 0, 1);
        }
        backwardContext.purge();
        backwardContext.setInputArray(0, input);
        backwardContext.setInputArray(1, w);
        backwardContext.setInputArray(2, epsilon);
        backwardContext.setOutputArray(0, dIn);
        backwardContext.setOutputArray(1, dW);
        Nd4j.exec(new Conv2DDerivative(), backwardContext);
    }
}
