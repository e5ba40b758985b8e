package dev.resnext.model;

import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.inputs.InvalidInputTypeException;

import java.util.Arrays;
import java.util.Map;

/**
 * DL4J's {@link SubsetVertex} over a range of channels (one cardinality group of a block), with the
 * output type computed correctly.
 *
 * <p>DL4J 1.0.0-M2.1's {@code SubsetVertex.getOutputType} gives CNN activations {@code from - to + 1}
 * channels (negative), so a graph that uses it cannot infer the next layer's nIn while it is built.
 * Its run-time behaviour is right, and a restored graph never asks for output types. So this
 * subclass exists only while a configuration is built or analysed: {@link StockForm} turns it
 * back into a plain {@link SubsetVertex} before anything is saved. Channels are on axis 1 (NCHW, or
 * [N, C] for feed-forward input); the range is inclusive, as in SubsetVertex.
 */
public class ChannelSlice extends SubsetVertex {

    private static final long serialVersionUID = 1L;

    /**
     * @param from first channel passed on
     * @param to   last channel passed on (inclusive)
     */
    public ChannelSlice(@JsonProperty("from") int from, @JsonProperty("to") int to) {
        super(from, to);
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("channel range must have 0 <= from <= to, got " + from + ", " + to);
        }
    }

    /** The slice of {@code channels} channels starting at {@code first}. */
    public static ChannelSlice of(int first, int channels) {
        return new ChannelSlice(first, first + channels - 1);
    }

    /** Number of channels passed on. */
    public int channels() {
        return getTo() - getFrom() + 1;
    }

    @Override
    public ChannelSlice clone() {
        return new ChannelSlice(getFrom(), getTo());
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) throws InvalidInputTypeException {
        return outputType(getFrom(), getTo(), vertexInputs);
    }

    /** The output type of a channel slice [from, to] of {@code vertexInputs[0]}. */
    public static InputType outputType(int from, int to, InputType... vertexInputs) {
        if (vertexInputs.length != 1) {
            throw new InvalidInputTypeException("a channel slice takes one input, got " + Arrays.toString(vertexInputs));
        }
        InputType in = vertexInputs[0];
        int channels = to - from + 1;
        switch (in.getType()) {
            case FF: {
                checkRange(from, to, ((InputType.InputTypeFeedForward) in).getSize(), in);
                return InputType.feedForward(channels);
            }
            case CNN: {
                InputType.InputTypeConvolutional conv = (InputType.InputTypeConvolutional) in;
                checkRange(from, to, conv.getChannels(), in);
                return InputType.convolutional(conv.getHeight(), conv.getWidth(), channels, conv.getFormat());
            }
            default:
                throw new InvalidInputTypeException("a channel slice takes CNN or feed-forward input, got " + in);
        }
    }

    private static void checkRange(int from, int to, long available, InputType in) {
        if (to >= available) {
            throw new InvalidInputTypeException("channels [" + from + ", " + to + "] out of range for input " + in);
        }
    }

    /**
     * A copy of {@code conf} in which every plain {@link SubsetVertex} is a {@link ChannelSlice}, so
     * that DL4J can compute activation types (for summaries and for rebuilding a graph).
     */
    public static ComputationGraphConfiguration analysable(ComputationGraphConfiguration conf) {
        ComputationGraphConfiguration copy = StockForm.fullCopy(conf);
        for (Map.Entry<String, GraphVertex> e : copy.getVertices().entrySet()) {
            if (e.getValue().getClass() == SubsetVertex.class) {
                SubsetVertex s = (SubsetVertex) e.getValue();
                e.setValue(new ChannelSlice(s.getFrom(), s.getTo()));
            }
        }
        return copy;
    }

    @Override
    public String toString() {
        return "ChannelSlice(from=" + getFrom() + ", to=" + getTo() + ")";
    }
}
