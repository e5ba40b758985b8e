package dev.resnext.runtime.layers;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.LayerValidation;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.util.ConvolutionUtils;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collection;
import java.util.Map;

/**
 * Configuration of an ordinary DL4J {@link ConvolutionLayer} (same fields, parameters
 * {@code [nOut, nIn, kH, kW]}, same results) whose runtime layer, {@link OneDnnConvolutionImpl},
 * runs the forward pass on cached oneDNN primitives and skips DL4J's recomputation of the forward
 * pass in backprop. Made by {@link dev.resnext.runtime.GraphRuntime}
 * from the stock class; never saved.
 */
public class OneDnnConvolution extends ConvolutionLayer {

    private static final long serialVersionUID = 1L;

    /** For copying from the stock configuration. */
    public OneDnnConvolution() {
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> trainingListeners,
                             int layerIndex, INDArray layerParamsView, boolean initializeParams,
                             DataType networkDataType) {
        LayerValidation.assertNInNOutSet(getClass().getSimpleName(), getLayerName(), layerIndex, getNIn(), getNOut());
        OneDnnConvolutionImpl ret = newLayer(conf, networkDataType);
        ret.setListeners(trainingListeners);
        ret.setIndex(layerIndex);
        ret.setParamsViewArray(layerParamsView);
        Map<String, INDArray> paramTable = initializer().init(conf, layerParamsView, initializeParams);
        ret.setParamTable(paramTable);
        ret.setConf(conf);
        return ret;
    }

    /** The runtime layer (subclasses return their own). */
    protected OneDnnConvolutionImpl newLayer(NeuralNetConfiguration conf, DataType dataType) {
        return new OneDnnConvolutionImpl(conf, dataType);
    }

    @Override
    public OneDnnConvolution clone() {
        return (OneDnnConvolution) super.clone();
    }
}
