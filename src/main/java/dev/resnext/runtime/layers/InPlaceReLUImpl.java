package dev.resnext.runtime.layers;

import dev.resnext.backend.OneDnnRelu;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.ActivationLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinearDerivative;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runtime layer of {@link InPlaceReLU}. In a training pass whose activations share DL4J's
 * whole-pass workspace, it overwrites its input with the rectified values and returns that array;
 * backprop then needs only the sign, which the rectified values keep (x > 0 exactly where
 * relu(x) > 0). Elsewhere (inference, detached feed-forward) it copies like DL4J's ActivationLayer.
 * The gradient is one relu_bp op into a new array, in both cases (DL4J copies the input first).
 */
public class InPlaceReLUImpl extends ActivationLayer {

    /** DL4J's whole-pass activation workspace (ComputationGraph.WS_ALL_LAYERS_ACT, not public). */
    private static final String WS_ALL_LAYERS_ACT = "WS_ALL_LAYERS_ACT";

    private final boolean plainRelu;

    public InPlaceReLUImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
        org.deeplearning4j.nn.conf.layers.ActivationLayer c = (org.deeplearning4j.nn.conf.layers.ActivationLayer)
                conf.getLayer();
        // exactly max(0, x): no threshold, slope or cap
        plainRelu = c.getActivationFn() instanceof ActivationReLU r && r.getMax() == null && r.getThreshold() == null
                && r.getNegativeSlope() == null && c.getIDropout() == null
                && dev.resnext.RuntimeSettings.current().inPlaceRelu();
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        if (plainRelu && training && input != null && sharedPassWorkspace(mgr) && input.isAttached()
                && WS_ALL_LAYERS_ACT.equals(input.data().getParentWorkspace().getId())) {
            Nd4j.exec(new RectifiedLinear(input, input));
            return input;
        }
        return super.activate(training, mgr);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        if (!plainRelu || input == null) {
            return super.backpropGradient(epsilon, mgr);
        }
        INDArray delta = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, epsilon.dataType(), epsilon.shape(),
                epsilon.ordering());
        // gradI = gradO where input > 0, else 0 (input is x, or relu(x) after an in-place pass)
        if (OneDnnRelu.supports(input, epsilon, delta)) {
            OneDnnRelu.backward(input, epsilon, delta);
        } else {
            Nd4j.exec(new RectifiedLinearDerivative(input, epsilon, delta));
        }
        return new Pair<>(new DefaultGradient(), delta);
    }

    private static boolean sharedPassWorkspace(LayerWorkspaceMgr mgr) {
        return mgr.hasConfiguration(ArrayType.ACTIVATIONS) && !mgr.isScopedOut(ArrayType.ACTIVATIONS)
                && WS_ALL_LAYERS_ACT.equals(mgr.getWorkspaceName(ArrayType.ACTIVATIONS));
    }
}
