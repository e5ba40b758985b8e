package dev.resnext.runtime.layers;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.cpu.nativecpu.NDArray;

/**
 * The input gradient of a block's channel-split vertices, shared by all of them (CPU backend).
 *
 * <p>DL4J sums the epsilons a vertex receives from its consumers with {@code first.addi(next)}
 * ({@code ComputationGraph.calcBackpropGradients}). When the split vertices of one block write
 * their channel slices into this one array, the first returns it and the others return a
 * {@link NoContribution}; adding one of those is skipped here, so no full-size zero gradient is
 * allocated, filled or summed per branch. Any other addend is added normally.
 */
final class AccumulatedGradient extends NDArray {

    /** Wraps {@code full}'s data (no copy; same workspace). */
    AccumulatedGradient(INDArray full) {
        super(full.data(), full.shape(), full.stride(), full.offset(), full.ordering(), full.dataType());
    }

    @Override
    public INDArray addi(INDArray other) {
        return other instanceof NoContribution ? this : super.addi(other);
    }

    @Override
    public INDArray addi(INDArray other, INDArray result) {
        if (other instanceof NoContribution) {
            return result == this ? this : result.assign(this);
        }
        return super.addi(other, result);
    }

    @Override
    public INDArray add(INDArray other) {
        return other instanceof NoContribution ? dup() : super.add(other);
    }

    /**
     * A zero that marks "my slice is already in the shared gradient". It is a real, broadcastable
     * zero ([1,1,..]), so code that adds it the ordinary way still gets the right sum.
     */
    static final class NoContribution extends NDArray {
        NoContribution(INDArray zero) {
            super(zero.data(), zero.shape(), zero.stride(), zero.offset(), zero.ordering(), zero.dataType());
        }
    }
}
