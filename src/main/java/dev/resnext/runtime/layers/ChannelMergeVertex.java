package dev.resnext.runtime.layers;

import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Configuration of the vertex that concatenates a ResNeXt block's branches along the channels: a
 * DL4J {@link MergeVertex} whose runtime, {@link ChannelMergeVertexImpl}, returns the block's grouped
 * output without copying when the branches were computed together (see {@link GroupedBlock}).
 * Made by {@link dev.resnext.runtime.GraphRuntime}
 * from the stock class; never saved.
 */
public class ChannelMergeVertex extends MergeVertex {

    private static final long serialVersionUID = 1L;

    @Override
    public ChannelMergeVertex clone() {
        ChannelMergeVertex copy = new ChannelMergeVertex();
        copy.setMergeAxis(mergeAxis);
        copy.setModified(modified);
        return copy;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChannelMergeVertex m && m.mergeAxis == mergeAxis;
    }

    @Override
    public int hashCode() {
        return 0x6d657267;
    }

    @Override
    public GraphVertex instantiate(ComputationGraph graph, String name, int idx, INDArray paramsView,
                                   boolean initializeParams, DataType networkDatatype) {
        return new ChannelMergeVertexImpl(graph, name, idx, networkDatatype, mergeAxis);
    }

    @Override
    public String toString() {
        return "ChannelMergeVertex()";
    }
}
