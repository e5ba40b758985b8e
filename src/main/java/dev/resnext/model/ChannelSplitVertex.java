package dev.resnext.model;

import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.inputs.InvalidInputTypeException;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;

/**
 * Graph vertex (configuration) that passes on a contiguous range of channels of its input: one
 * cardinality group of a ResNeXt bottleneck.
 *
 * <p>Replaces DL4J's {@code SubsetVertex}, whose output type for CNN activations is computed with
 * the sign reversed ({@code from - to + 1} channels) in 1.0.0-M2.1, so that the next layer's nIn
 * cannot be inferred. Channels are on axis 1 (NCHW, or [N, C] for feed-forward input).
 * The class name is stored in saved model zips, so it must stay stable.
 */
public class ChannelSplitVertex extends GraphVertex {

    private static final long serialVersionUID = 1L;

    private int firstChannel;
    private int channels;

    /**
     * @param firstChannel index of the first channel passed on
     * @param channels     number of channels passed on
     */
    public ChannelSplitVertex(@JsonProperty("firstChannel") int firstChannel,
                              @JsonProperty("channels") int channels) {
        if (firstChannel < 0 || channels < 1) {
            throw new IllegalArgumentException("channel range must have firstChannel >= 0 and channels >= 1, got "
                    + firstChannel + ", " + channels);
        }
        this.firstChannel = firstChannel;
        this.channels = channels;
    }

    public int getFirstChannel() {
        return firstChannel;
    }

    public int getChannels() {
        return channels;
    }

    // setters are for Jackson (DL4J's configuration JSON); the vertex is not changed after building
    public void setFirstChannel(int firstChannel) {
        this.firstChannel = firstChannel;
    }

    public void setChannels(int channels) {
        this.channels = channels;
    }

    @Override
    public ChannelSplitVertex clone() {
        return new ChannelSplitVertex(firstChannel, channels);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChannelSplitVertex v && v.firstChannel == firstChannel && v.channels == channels;
    }

    @Override
    public int hashCode() {
        return 31 * firstChannel + channels;
    }

    @Override
    public long numParams(boolean backprop) {
        return 0;
    }

    @Override
    public int minVertexInputs() {
        return 1;
    }

    @Override
    public int maxVertexInputs() {
        return 1;
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                                                                      INDArray paramsView, boolean initializeParams,
                                                                      DataType networkDatatype) {
        return new ChannelSplitVertexImpl(graph, name, idx, firstChannel, channels, networkDatatype);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) throws InvalidInputTypeException {
        if (vertexInputs.length != 1) {
            throw new InvalidInputTypeException("ChannelSplitVertex expects one input, got "
                    + Arrays.toString(vertexInputs));
        }
        InputType in = vertexInputs[0];
        switch (in.getType()) {
            case FF: {
                long size = ((InputType.InputTypeFeedForward) in).getSize();
                checkRange(size, in);
                return InputType.feedForward(channels);
            }
            case CNN: {
                InputType.InputTypeConvolutional conv = (InputType.InputTypeConvolutional) in;
                checkRange(conv.getChannels(), in);
                return InputType.convolutional(conv.getHeight(), conv.getWidth(), channels, conv.getFormat());
            }
            default:
                throw new InvalidInputTypeException("ChannelSplitVertex supports CNN and feed-forward input, got "
                        + in);
        }
    }

    private void checkRange(long available, InputType in) {
        if (firstChannel + channels > available) {
            throw new InvalidInputTypeException("channels [" + firstChannel + ", " + (firstChannel + channels)
                    + ") out of range for input " + in);
        }
    }

    @Override
    public MemoryReport getMemoryReport(InputType... inputTypes) {
        InputType outputType = getOutputType(-1, inputTypes);
        return new LayerMemoryReport.Builder(null, ChannelSplitVertex.class, inputTypes[0], outputType)
                .standardMemory(0, 0).workingMemory(0, 0, 0, 0).cacheMemory(0, 0).build();
    }

    @Override
    public String toString() {
        return "ChannelSplitVertex(firstChannel=" + firstChannel + ", channels=" + channels + ")";
    }
}
