package dev.resnext.export;

/**
 * How a model zip becomes an ONNX graph.
 *
 * @param opset                 ONNX operator set version, {@value #MIN_OPSET} to {@value #MAX_OPSET}
 * @param dynamicBatch          the batch axis is named ({@code batch}) instead of fixed at 1
 * @param includePreprocessing  the per-channel normalisation is part of the graph: the input is the
 *                              image scaled to [0, 1], not the standardised tensor
 * @param keepBranches          keep one Slice and one Conv per cardinality group and a Concat, as in the
 *                              zip, instead of one Conv with {@code group} per block
 * @param keepBatchNorm         keep BatchNormalization nodes instead of folding them into the convolutions
 */
public record OnnxExportOptions(int opset, boolean dynamicBatch, boolean includePreprocessing, boolean keepBranches,
                                boolean keepBatchNorm) {

    /** Lowest opset written (Softmax's per-axis form and Slice with input ranges are from 13). */
    public static final int MIN_OPSET = 13;
    /** Highest opset written: TensorRT 8.6 and Triton's ONNX Runtime backend read it. */
    public static final int MAX_OPSET = 17;
    /** Default opset. */
    public static final int DEFAULT_OPSET = 17;

    public OnnxExportOptions {
        if (opset < MIN_OPSET || opset > MAX_OPSET) {
            throw new IllegalArgumentException("ONNX opset must be " + MIN_OPSET + " to " + MAX_OPSET + ", was " + opset);
        }
    }

    /** Defaults: opset {@value #DEFAULT_OPSET}, batch 1, grouped convolutions, BN folded, no preprocessing. */
    public static OnnxExportOptions defaults() {
        return new OnnxExportOptions(DEFAULT_OPSET, false, false, false, false);
    }

    /** The ONNX IR version that goes with the opset (ONNX 1.8/1.9: IR 7 for opsets 13-14; IR 8 from 15). */
    public int irVersion() {
        return opset <= 14 ? 7 : 8;
    }
}
