package dev.resnext.model;

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
 * Configuration of one cardinality group's 3x3 convolution in a ResNeXt block: an ordinary
 * {@link ConvolutionLayer} (same parameters, weights {@code [nOut, nIn, kH, kW]}, same JSON fields)
 * whose runtime layer, {@link BranchConvolutionImpl}, can hand its work to the block's grouped
 * convolution ({@link GroupedBlock}). Anywhere else it behaves exactly like a ConvolutionLayer.
 * The class name is stored in saved model zips, so it must stay stable.
 */
public class BranchConvolution extends ConvolutionLayer {

    private static final long serialVersionUID = 1L;

    /** For Jackson (DL4J's configuration JSON). */
    public BranchConvolution() {
    }

    protected BranchConvolution(Builder builder) {
        super(builder);
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> trainingListeners,
                             int layerIndex, INDArray layerParamsView, boolean initializeParams,
                             DataType networkDataType) {
        LayerValidation.assertNInNOutSet("BranchConvolution", getLayerName(), layerIndex, getNIn(), getNOut());
        BranchConvolutionImpl ret = new BranchConvolutionImpl(conf, networkDataType);
        ret.setListeners(trainingListeners);
        ret.setIndex(layerIndex);
        ret.setParamsViewArray(layerParamsView);
        Map<String, INDArray> paramTable = initializer().init(conf, layerParamsView, initializeParams);
        ret.setParamTable(paramTable);
        ret.setConf(conf);
        return ret;
    }

    @Override
    public BranchConvolution clone() {
        return (BranchConvolution) super.clone();
    }

    /** Builder: the ConvolutionLayer builder, building a {@link BranchConvolution}. */
    public static class Builder extends ConvolutionLayer.Builder {
        public Builder(int... kernelSize) {
            super(kernelSize);
        }

        @Override
        public BranchConvolution build() {
            ConvolutionUtils.validateConvolutionModePadding(convolutionMode, padding);
            ConvolutionUtils.validateCnnKernelStridePadding(kernelSize, stride, padding);
            return new BranchConvolution(this);
        }
    }
}
