package dev.resnext.runtime.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.util.ConvolutionUtils;
import org.nd4j.linalg.api.buffer.DataType;


/**
 * Configuration of one cardinality group's 3x3 convolution in a ResNeXt block: an ordinary
 * {@link ConvolutionLayer} (same parameters, weights {@code [nOut, nIn, kH, kW]}, same JSON fields)
 * whose runtime layer, {@link BranchConvolutionImpl}, can hand its work to the block's grouped
 * convolution ({@link GroupedBlock}). Anywhere else it behaves like a {@link OneDnnConvolution}.
 * Made by {@link dev.resnext.runtime.GraphRuntime}
 * from the stock class; never saved.
 */
public class BranchConvolution extends OneDnnConvolution {

    private static final long serialVersionUID = 1L;

    /** For copying from the stock configuration. */
    public BranchConvolution() {
    }

    @Override
    protected OneDnnConvolutionImpl newLayer(NeuralNetConfiguration conf, DataType dataType) {
        return new BranchConvolutionImpl(conf, dataType);
    }

    @Override
    public BranchConvolution clone() {
        return (BranchConvolution) super.clone();
    }
}
