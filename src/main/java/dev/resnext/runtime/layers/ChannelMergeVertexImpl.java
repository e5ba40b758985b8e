package dev.resnext.runtime.layers;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.impl.MergeVertex;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runtime side of {@link ChannelMergeVertex}. In a fused pass of its block the branches' outputs
 * are adjacent slices of one array, which this vertex returns as it is (no concatenation); it
 * passes the output gradient on as views. Otherwise it is DL4J's {@link MergeVertex}.
 */
public class ChannelMergeVertexImpl extends MergeVertex {

    private GroupedBlock block;

    public ChannelMergeVertexImpl(ComputationGraph graph, String name, int vertexIndex, DataType dataType,
                                  int mergeAxis) {
        super(graph, name, vertexIndex, dataType, mergeAxis);
    }

    void setBlock(GroupedBlock block) {
        this.block = block;
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (block != null && canDoForward()) {
            INDArray out = block.mergeOutput(workspaceMgr);
            if (out != null) {
                return out;
            }
        }
        return super.doForward(training, workspaceMgr);
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        if (block != null && canDoBackward()) {
            INDArray[] eps = block.mergeBackward(epsilon, workspaceMgr);
            if (eps != null) {
                return new Pair<>(null, eps);
            }
        }
        return super.doBackward(tbptt, workspaceMgr);
    }

    @Override
    public String toString() {
        return "ChannelMergeVertex(id=" + getVertexIndex() + ",name=\"" + getVertexName() + "\")";
    }
}
