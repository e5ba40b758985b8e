package dev.resnext.transfer;

import dev.resnext.ResNeXtException;
import dev.resnext.format.LoadedModel;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.runtime.GraphRuntime;
import dev.resnext.model.VertexNames;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Sgd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns a saved ResNeXt into the starting point of a new task: a new classifier head for the new
 * label set (replaced by name, everything else keeps its weights), an adapted stem when the input
 * channels change, a new input size, and frozen layers per a {@link FreezePolicy}.
 */
public final class FineTuning {
    private static final Logger log = LoggerFactory.getLogger(FineTuning.class);

    private FineTuning() {
    }

    /**
     * The configuration of the fine-tuned network: the parent's architecture with the new classes,
     * task kind and input, and the training settings of {@code overrides}.
     */
    public static ResNeXtConfig childConfig(ResNeXtConfig parent, int classes, boolean multiLabel, int height,
                                            int width, int channels) {
        return parent.toBuilder().numClasses(classes).multiLabel(multiLabel).input(height, width, channels)
                .name(parent.getName()).build();
    }

    /**
     * Builds the network to fine-tune from {@code parent}.
     *
     * @param child  the target configuration ({@link #childConfig})
     * @param freeze what keeps its weights
     */
    public static ComputationGraph prepare(LoadedModel parent, ResNeXtConfig child, FreezePolicy freeze) {
        ResNeXtConfig pc = parent.metadata().config();
        String boundary = freeze.boundary(child);
        ComputationGraph source = parent.graph();
        int headIn = (int) source.getLayer(VertexNames.HEAD_FC).getParam("W").size(0);
        FineTuneConfiguration ftc = new FineTuneConfiguration.Builder()
                .seed(child.getSeed())
                .updater(new Sgd(child.getLearningRate())) // replaced by the trainer's schedule
                .weightDecay(child.getWeightDecay(), true)
                .build();
        TransferLearning.GraphBuilder b = new TransferLearning.GraphBuilder(source)
                .fineTuneConfiguration(ftc);
        boolean adaptStem = pc.getInputChannels() != child.getInputChannels();
        INDArray stemW = null;
        if (adaptStem) {
            stemW = StemAdapter.adapt(source.getLayer(VertexNames.STEM_CONV).getParam("W"), child.getInputChannels());
            b.nInReplace(VertexNames.STEM_CONV, child.getInputChannels(), WeightInit.ZERO);
            log.info("adapting the stem from {} to {} input channels", pc.getInputChannels(), child.getInputChannels());
        }
        b.removeVertexAndConnections(VertexNames.HEAD_LOSS)
                .removeVertexAndConnections(VertexNames.HEAD_FC)
                .addLayer(VertexNames.HEAD_FC, ResNeXtGraphFactory.classifier(headIn, child.getNumClasses()),
                        VertexNames.HEAD_POOL)
                .addLayer(VertexNames.HEAD_LOSS, ResNeXtGraphFactory.lossLayer(child.isMultiLabel(),
                        child.getNumClasses()), VertexNames.HEAD_FC)
                .setOutputs(VertexNames.HEAD_LOSS)
                .setInputTypes(InputType.convolutional(child.getInputHeight(), child.getInputWidth(),
                        child.getInputChannels()));
        if (boundary != null) {
            b.setFeatureExtractor(boundary);
        }
        ComputationGraph graph;
        try {
            graph = b.build();
        } catch (RuntimeException e) {
            throw new ResNeXtException("cannot rebuild " + parent.file() + " for fine-tuning: " + e.getMessage(), e);
        }
        if (stemW != null) {
            graph.getLayer(VertexNames.STEM_CONV).setParam("W", stemW);
        }
        dedupeRegularization(graph);
        graph = GraphRuntime.prepare(graph);
        log.info("fine-tuning {}: new head for {} {} ({}), frozen: {}", pc.getName(), child.getNumClasses(),
                child.isMultiLabel() ? "findings" : "classes", child.isMultiLabel() ? "sigmoid" : "softmax", freeze);
        return graph;
    }

    /**
     * Copies the classifier's weights and bias ({@code head.fc}) from one graph to another (the one
     * place that knows which parameters a head has); the backbones may differ.
     */
    public static void copyHead(ComputationGraph from, ComputationGraph to) {
        var source = from.getLayer(VertexNames.HEAD_FC);
        var target = to.getLayer(VertexNames.HEAD_FC);
        for (String param : List.of("W", "b")) {
            target.setParam(param, source.getParam(param).dup());
        }
    }

    /** Names of the vertices whose layers are frozen in {@code graph}. */
    public static List<String> frozenLayers(ComputationGraph graph) {
        List<String> names = new ArrayList<>();
        for (var v : graph.getVertices()) {
            if (v.hasLayer() && v.getLayer() instanceof org.deeplearning4j.nn.layers.FrozenLayer) {
                names.add(v.getVertexName());
            }
        }
        return names;
    }

    /** TransferLearning repeats DL4J's double weight decay (see ResNeXtGraphFactory.finish): undo it in both copies. */
    private static void dedupeRegularization(ComputationGraph graph) {
        for (var v : graph.getConfiguration().getVertices().values()) {
            if (v instanceof org.deeplearning4j.nn.conf.graph.LayerVertex lv) {
                ResNeXtGraphFactory.dedupeRegularization(lv.getLayerConf().getLayer());
            }
        }
        for (var v : graph.getVertices()) {
            if (v.hasLayer()) {
                ResNeXtGraphFactory.dedupeRegularization(v.getLayer().conf().getLayer());
            }
        }
    }
}
