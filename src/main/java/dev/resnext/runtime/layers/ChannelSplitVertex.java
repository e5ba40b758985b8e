package dev.resnext.runtime.layers;

import org.nd4j.shade.jackson.annotation.JsonProperty;
import dev.resnext.model.ChannelSlice;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runtime configuration of a channel slice (DL4J's {@code SubsetVertex} in a saved zip) whose
 * vertex, {@link ChannelSplitVertexImpl}, takes part in its block's grouped execution
 * ({@link GroupedBlock}). Made by the runtime from the stock class; never saved.
 */
public class ChannelSplitVertex extends ChannelSlice {

    private static final long serialVersionUID = 1L;

    public ChannelSplitVertex(@JsonProperty("from") int from, @JsonProperty("to") int to) {
        super(from, to);
    }

    @Override
    public ChannelSplitVertex clone() {
        return new ChannelSplitVertex(getFrom(), getTo());
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                                                                      INDArray paramsView, boolean initializeParams,
                                                                      DataType networkDatatype) {
        return new ChannelSplitVertexImpl(graph, name, idx, getFrom(), channels(), networkDatatype);
    }

    @Override
    public String toString() {
        return "ChannelSplitVertex(from=" + getFrom() + ", to=" + getTo() + ")";
    }
}
