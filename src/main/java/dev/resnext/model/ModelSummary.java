package dev.resnext.model;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Static facts about a ResNeXt graph, computed from its configuration without allocating weights:
 * parameter counts (trainable, and BN running statistics separately, as PyTorch counts them),
 * vertex counts by kind, and the activation shape after the stem and after each stage.
 *
 * @param model           configuration name
 * @param trainableParams parameters that receive gradients (conv, BN gamma/beta, classifier)
 * @param bnRunningStats  BN running mean and variance elements (buffers in PyTorch)
 * @param vertices        number of graph vertices, inputs excluded
 * @param splitVertices   number of channel-split vertices (cardinality x blocks)
 * @param mergeVertices   number of merge (channel concat) vertices
 * @param vertexKinds     vertex count per layer or vertex class
 * @param stageShapes     [channels, height, width] after the stem and each stage, by vertex name
 */
public record ModelSummary(String model, long trainableParams, long bnRunningStats, int vertices,
                           int splitVertices, int mergeVertices, Map<String, Integer> vertexKinds,
                           Map<String, List<Long>> stageShapes) {

    /** Summarises the graph that {@link ResNeXtGraphFactory} builds for {@code config}. */
    public static ModelSummary of(ResNeXtConfig config) {
        return of(config, ResNeXtGraphFactory.build(config));
    }

    /** Summarises an already built configuration of {@code config}'s network. */
    public static ModelSummary of(ResNeXtConfig config, ComputationGraphConfiguration conf) {
        long trainable = 0;
        long running = 0;
        int splits = 0;
        int merges = 0;
        Map<String, Integer> kinds = new TreeMap<>();
        for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
            GraphVertex v = e.getValue();
            String kind;
            if (v instanceof LayerVertex lv) {
                Layer layer = lv.getLayerConf().getLayer();
                kind = stockName(layer.getClass());
                long n = layer.initializer().numParams(layer);
                if (layer instanceof BatchNormalization bn) {
                    long stats = 2 * bn.getNOut();
                    running += stats;
                    n -= stats;
                }
                trainable += n;
            } else {
                kind = stockName(v.getClass());
                trainable += v.numParams(true);
            }
            if (v instanceof org.deeplearning4j.nn.conf.graph.SubsetVertex) splits++;
            if (v instanceof org.deeplearning4j.nn.conf.graph.MergeVertex) merges++;
            kinds.merge(kind, 1, Integer::sum);
        }
        Map<String, InputType> types = ChannelSlice.analysable(conf).getLayerActivationTypes(InputType.convolutional(
                config.getInputHeight(), config.getInputWidth(), config.getInputChannels()));
        Map<String, List<Long>> shapes = new LinkedHashMap<>();
        String stem = VertexNames.stemOutput(config.getStem());
        shapes.put(stem, shape(types.get(stem)));
        for (int s = 1; s <= config.numStages(); s++) {
            String name = VertexNames.stageOutput(config, s);
            shapes.put(name, shape(types.get(name)));
        }
        return new ModelSummary(config.getName(), trainable, running, conf.getVertices().size(), splits, merges,
                kinds, shapes);
    }

    /** The DL4J class a (possibly runtime) class stands for: what the saved form names. */
    private static String stockName(Class<?> c) {
        Class<?> k = c;
        while (k.getSuperclass() != null && !StockForm.isStock(k)) {
            k = k.getSuperclass();
        }
        return k.getSimpleName();
    }

    private static List<Long> shape(InputType t) {
        List<Long> out = new ArrayList<>();
        if (t instanceof InputType.InputTypeConvolutional c) {
            out.add(c.getChannels());
            out.add(c.getHeight());
            out.add(c.getWidth());
        } else if (t != null) {
            for (long d : t.getShape(false)) out.add(d);
        }
        return out;
    }
}
