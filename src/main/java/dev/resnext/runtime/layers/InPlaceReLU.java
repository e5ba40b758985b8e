package dev.resnext.runtime.layers;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collection;
import java.util.Map;

/**
 * Configuration of a DL4J {@link ActivationLayer} with ReLU (same JSON fields, no parameters) whose
 * runtime layer, {@link InPlaceReLUImpl}, rectifies its input in place during training, as
 * torchvision's {@code ReLU(inplace=True)} does: one activation array less per layer kept for
 * backprop, one copy less forward, and a single-pass gradient.
 *
 * <p>Only valid where the layer is the sole consumer of its input and the producer's backprop does
 * not read its own output, which holds for every ReLU of a ResNeXt (after batch normalisation or
 * the residual sum); {@link dev.resnext.runtime.GraphRuntime} uses it only there. Made by the
 * runtime from the stock class; never saved.
 */
public class InPlaceReLU extends ActivationLayer {

    private static final long serialVersionUID = 1L;

    /** For copying from the stock configuration. */
    public InPlaceReLU() {
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> trainingListeners,
                             int layerIndex, INDArray layerParamsView, boolean initializeParams,
                             DataType networkDataType) {
        InPlaceReLUImpl ret = new InPlaceReLUImpl(conf, networkDataType);
        ret.setListeners(trainingListeners);
        ret.setIndex(layerIndex);
        ret.setParamsViewArray(layerParamsView);
        Map<String, INDArray> paramTable = initializer().init(conf, layerParamsView, initializeParams);
        ret.setParamTable(paramTable);
        ret.setConf(conf);
        return ret;
    }

    @Override
    public InPlaceReLU clone() {
        return (InPlaceReLU) super.clone();
    }
}
