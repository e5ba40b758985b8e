package dev.resnext.runtime;

import dev.resnext.RuntimeSettings;
import dev.resnext.model.StockForm;
import dev.resnext.runtime.layers.BranchConvolution;
import dev.resnext.runtime.layers.ChannelMergeVertex;
import dev.resnext.runtime.layers.ChannelSplitVertex;
import dev.resnext.runtime.layers.InPlaceReLU;
import dev.resnext.runtime.layers.OneDnnBatchNormalization;
import dev.resnext.runtime.layers.OneDnnConvolution;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The runtime form of a stock configuration: the same graph, vertex names, settings and parameter
 * layout, with DL4J's classes replaced where the runtime has a faster implementation of the same
 * function on the CPU:
 * <ul>
 *   <li>ConvolutionLayer: {@link OneDnnConvolution}, or {@link BranchConvolution} when it takes
 *   a channel slice (a group branch, which may run in its block's grouped convolution);</li>
 *   <li>BatchNormalization: {@link OneDnnBatchNormalization};</li>
 *   <li>ActivationLayer(ReLU) that is the only consumer of a batch normalisation or a residual sum
 *   (their backward passes do not read their output): {@link InPlaceReLU};</li>
 *   <li>SubsetVertex: {@link ChannelSplitVertex}; MergeVertex: {@link ChannelMergeVertex}.</li>
 * </ul>
 * Classes it does not know (and layers wrapped by DL4J, e.g. frozen ones, are looked into) stay
 * as they are. {@link StockForm} is the inverse.
 */
final class RuntimeForm {

    private RuntimeForm() {
    }

    /**
     * A runtime copy of {@code conf}, or null when there is nothing to replace (already a runtime
     * form, or no layer the runtime knows).
     */
    static ComputationGraphConfiguration of(ComputationGraphConfiguration conf, RuntimeSettings settings) {
        Map<String, Integer> consumers = new HashMap<>();
        for (List<String> inputs : conf.getVertexInputs().values()) {
            for (String in : inputs) {
                consumers.merge(in, 1, Integer::sum);
            }
        }
        ComputationGraphConfiguration copy = StockForm.fullCopy(conf);
        boolean changed = false;
        for (Map.Entry<String, GraphVertex> e : copy.getVertices().entrySet()) {
            String name = e.getKey();
            GraphVertex v = e.getValue();
            List<String> inputs = conf.getVertexInputs().get(name);
            GraphVertex input = inputs == null || inputs.size() != 1 ? null : conf.getVertices().get(inputs.get(0));
            boolean soleConsumer = input != null && consumers.getOrDefault(inputs.get(0), 0) == 1;
            if (v instanceof LayerVertex lv) {
                Layer before = lv.getLayerConf().getLayer();
                Layer after = layer(before, input, soleConsumer, settings);
                if (after != before) {
                    lv.getLayerConf().setLayer(after);
                    changed = true;
                }
            } else {
                GraphVertex after = vertex(v);
                if (after != v) {
                    e.setValue(after);
                    changed = true;
                }
            }
        }
        return changed ? copy : null;
    }

    private static GraphVertex vertex(GraphVertex v) {
        if (v instanceof org.deeplearning4j.nn.conf.graph.FrozenVertex f) {
            GraphVertex inner = vertex(f.getUnderlying());
            if (inner == f.getUnderlying()) {
                return v;
            }
            return new org.deeplearning4j.nn.conf.graph.FrozenVertex(inner);
        }
        if (v.getClass() == SubsetVertex.class) {
            SubsetVertex s = (SubsetVertex) v;
            return new ChannelSplitVertex(s.getFrom(), s.getTo());
        }
        if (v.getClass() == MergeVertex.class) {
            return StockForm.copyAs(v, ChannelMergeVertex.class);
        }
        return v;
    }

    private static Layer layer(Layer layer, GraphVertex input, boolean soleConsumer, RuntimeSettings settings) {
        if (layer instanceof FrozenLayer f) {
            return StockForm.refrozen(f, layer(f.getLayer(), input, soleConsumer, settings));
        }
        if (layer instanceof BaseWrapperLayer w) {
            Layer inner = layer(w.getUnderlying(), input, soleConsumer, settings);
            if (inner != w.getUnderlying()) {
                w.setUnderlying(inner);
            }
            return layer;
        }
        if (layer.getClass() == ConvolutionLayer.class) {
            return input instanceof SubsetVertex ? StockForm.copyAs(layer, BranchConvolution.class)
                    : StockForm.copyAs(layer, OneDnnConvolution.class);
        }
        if (layer.getClass() == BatchNormalization.class) {
            return StockForm.copyAs(layer, OneDnnBatchNormalization.class);
        }
        if (layer.getClass() == ActivationLayer.class && settings.inPlaceRelu() && soleConsumer
                && GraphPatterns.isPlainRelu(layer) && outputNotReadBackward(input)) {
            return StockForm.copyAs(layer, InPlaceReLU.class);
        }
        return layer;
    }

    /** Batch normalisation and a sum do not read their own output in backprop: a ReLU after them may overwrite it. */
    private static boolean outputNotReadBackward(GraphVertex input) {
        if (input instanceof ElementWiseVertex ew) {
            return ew.getOp() == ElementWiseVertex.Op.Add;
        }
        if (input instanceof LayerVertex lv) {
            Layer l = lv.getLayerConf().getLayer();
            if (l instanceof FrozenLayer f) {
                l = f.getLayer();
            }
            return l instanceof BatchNormalization;
        }
        return false;
    }
}
