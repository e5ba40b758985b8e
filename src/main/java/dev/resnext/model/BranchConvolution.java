package dev.resnext.model;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.util.ConvolutionUtils;
import org.nd4j.linalg.api.buffer.DataType;


/**
 * Configuration of one cardinality group's 3x3 convolution in a ResNeXt block: an ordinary
 * {@link ConvolutionLayer} (same parameters, weights {@code [nOut, nIn, kH, kW]}, same JSON fields)
 * whose runtime layer, {@link BranchConvolutionImpl}, can hand its work to the block's grouped
 * convolution ({@link GroupedBlock}). Anywhere else it behaves like a {@link OneDnnConvolution}.
 * The class name is stored in saved model zips, so it must stay stable.
 */
public class BranchConvolution extends OneDnnConvolution {

    private static final long serialVersionUID = 1L;

    /** For Jackson (DL4J's configuration JSON). */
    public BranchConvolution() {
    }

    protected BranchConvolution(Builder builder) {
        super(builder);
    }

    @Override
    protected OneDnnConvolutionImpl newLayer(NeuralNetConfiguration conf, DataType dataType) {
        return new BranchConvolutionImpl(conf, dataType);
    }

    @Override
    public BranchConvolution clone() {
        return (BranchConvolution) super.clone();
    }

    /** Builder: the ConvolutionLayer builder, building a {@link BranchConvolution}. */
    public static class Builder extends OneDnnConvolution.Builder {
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
