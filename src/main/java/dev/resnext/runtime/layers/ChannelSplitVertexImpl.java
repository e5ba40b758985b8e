package dev.resnext.runtime.layers;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.BaseGraphVertex;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Runtime side of {@link ChannelSplitVertex}.
 *
 * <p>Forward returns a view of the input's channel range wherever the input already lives in the
 * activation workspace (training), and copies only where DL4J would otherwise free the input
 * early (layer-by-layer inference workspaces). The split vertices of one block share a
 * {@link GroupedBlock}: the first to run in a pass may compute all the block's branch
 * convolutions at once, and backward they share one input gradient instead of each returning a
 * zero-filled full-size one for the graph to sum. Without a block (other graph shapes, or the
 * mechanisms switched off) backward scatters the epsilon into a zero gradient of the input's shape.
 */
public class ChannelSplitVertexImpl extends BaseGraphVertex {

    private final int firstChannel;
    private final int channels;
    private long[] inputShape;
    private GroupedBlock block;
    private boolean attached;

    public ChannelSplitVertexImpl(ComputationGraph graph, String name, int vertexIndex, int firstChannel,
                                  int channels, DataType dataType) {
        super(graph, name, vertexIndex, null, null, dataType);
        this.firstChannel = firstChannel;
        this.channels = channels;
    }

    @Override
    public boolean hasLayer() {
        return false;
    }

    @Override
    public Layer getLayer() {
        return null;
    }

    int getFirstChannel() {
        return firstChannel;
    }

    int getChannels() {
        return channels;
    }

    void setBlock(GroupedBlock block) {
        this.block = block;
        this.attached = true;
    }

    /** Whether this vertex's block runs its branch convolutions as one grouped convolution. */
    public boolean isFused() {
        return block != null && block.isFused();
    }

    /** Indices of this vertex's channel range in an array of the given rank. */
    INDArrayIndex[] channelRange(int rank) {
        return range(rank);
    }

    private INDArrayIndex[] range(int rank) {
        INDArrayIndex[] idx = new INDArrayIndex[rank];
        for (int i = 0; i < rank; i++) {
            idx[i] = NDArrayIndex.all();
        }
        idx[1] = NDArrayIndex.interval(firstChannel, firstChannel + channels);
        return idx;
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoForward()) {
            throw new IllegalStateException("Cannot do forward pass in vertex " + getVertexName() + ": input not set");
        }
        INDArray in = inputs[0];
        if (in.rank() != 2 && in.rank() != 4) {
            throw new IllegalStateException("Vertex " + getVertexName() + " expects rank 2 or 4 input, got shape "
                    + java.util.Arrays.toString(in.shape()));
        }
        if (in.size(1) < firstChannel + channels) {
            throw new IllegalStateException("Vertex " + getVertexName() + " needs " + (firstChannel + channels)
                    + " input channels, got " + in.size(1));
        }
        inputShape = in.shape();
        if (!attached) {
            attached = true;
            GroupedBlock.attach(graph, this);
        }
        if (block != null) {
            block.splitForward(in, workspaceMgr);
        }
        return workspaceMgr.leverageTo(ArrayType.ACTIVATIONS, in.get(range(in.rank())));
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoBackward()) {
            throw new IllegalStateException("Cannot do backward pass in vertex " + getVertexName()
                    + ": epsilon not set");
        }
        if (block != null) {
            INDArray shared = block.splitBackward(this, epsilon, inputShape, workspaceMgr);
            if (shared != null) {
                return new Pair<>(null, new INDArray[] {shared});
            }
        }
        INDArray grad = workspaceMgr.create(ArrayType.ACTIVATION_GRAD, epsilon.dataType(), inputShape, 'c');
        grad.get(range(inputShape.length)).assign(epsilon);
        return new Pair<>(null, new INDArray[] {grad});
    }

    @Override
    public void setBackpropGradientsViewArray(INDArray backpropGradientsViewArray) {
        if (backpropGradientsViewArray != null) {
            throw new IllegalStateException("Vertex " + getVertexName() + " has no parameters");
        }
    }

    @Override
    public Pair<INDArray, MaskState> feedForwardMaskArrays(INDArray[] maskArrays, MaskState currentMaskState,
                                                           int minibatchSize) {
        if (maskArrays == null || maskArrays.length == 0) {
            return null;
        }
        return new Pair<>(maskArrays[0], currentMaskState);
    }

    @Override
    public String toString() {
        return "ChannelSplitVertex(name=\"" + getVertexName() + "\", channels [" + firstChannel + ", "
                + (firstChannel + channels) + "))";
    }
}
