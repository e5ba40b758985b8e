package dev.resnext.export;

import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.model.VertexNames;
import dev.resnext.runtime.GraphRuntime;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What an export reads from a loaded model zip: the stock configuration (DL4J's classes only,
 * whatever the runtime put in memory), a stock network sharing the zip's parameter array, the
 * metadata and the normaliser. Made only for a network that is a ResNeXt of this project: the
 * vertices, their kinds and their wiring must be those {@link ResNeXtGraphFactory} builds for the
 * zip's configuration (the classifier may have any number of outputs).
 */
final class ExportSource {

    final Path file;
    final ComputationGraphConfiguration conf;
    final ComputationGraph stock;
    final ModelMetadata metadata;
    final ResNeXtConfig config;
    final DataNormalization normalizer;

    private ExportSource(Path file, ComputationGraphConfiguration conf, ComputationGraph stock, ModelMetadata metadata,
                         ResNeXtConfig config, DataNormalization normalizer) {
        this.file = file;
        this.conf = conf;
        this.stock = stock;
        this.metadata = metadata;
        this.config = config;
        this.normalizer = normalizer;
    }

    /** Checks that {@code model} is a ResNeXt of this project and opens its stock form. */
    static ExportSource of(LoadedModel model) {
        String name = model.file() == null ? "the model" : model.file().getFileName().toString();
        ResNeXtConfig config = model.metadata() == null ? null : model.metadata().config();
        if (config == null) {
            throw new NotExportableException(name + " has no ResNeXt configuration in its metadata");
        }
        ComputationGraphConfiguration conf = GraphRuntime.stockConfiguration(model.graph());
        checkStructure(name, config, conf);
        // a stock network over the same parameter array: parameters are read through DL4J's own layers,
        // independent of the runtime's implementations
        ComputationGraph stock = new ComputationGraph(conf.clone());
        stock.init(model.graph().params(), false);
        return new ExportSource(model.file(), conf, stock, model.metadata(), config, model.normalizer());
    }

    /** The layer configuration of a vertex, unwrapped from frozen or other wrappers (null for plain vertices). */
    Layer layer(String vertex) {
        return layerOf(conf.getVertices().get(vertex));
    }

    /** A parameter of a layer, as stored (a view of the zip's parameter array). */
    INDArray param(String vertex, String key) {
        org.deeplearning4j.nn.api.Layer l = stock.getLayer(vertex);
        INDArray p = l == null ? null : l.getParam(key);
        if (p == null) {
            throw new NotExportableException("layer '" + vertex + "' of " + fileName() + " has no parameter '" + key
                    + "'");
        }
        return p;
    }

    String fileName() {
        return file == null ? "the model" : file.getFileName().toString();
    }

    /** Outputs of the classifier ({@code head.fc}), which fine-tuning may have changed. */
    int classes() {
        return (int) ((DenseLayer) layer(VertexNames.HEAD_FC)).getNOut();
    }

    static Layer layerOf(GraphVertex v) {
        if (v instanceof FrozenVertex f) {
            return layerOf(f.getUnderlying());
        }
        if (!(v instanceof LayerVertex lv)) {
            return null;
        }
        Layer l = lv.getLayerConf().getLayer();
        while (true) {
            if (l instanceof FrozenLayer f) {
                l = f.getLayer();
            } else if (l instanceof BaseWrapperLayer w) {
                l = w.getUnderlying();
            } else {
                return l;
            }
        }
    }

    private static String kind(GraphVertex v) {
        Layer l = layerOf(v);
        if (l != null) {
            return l.getClass().getSimpleName();
        }
        GraphVertex u = v instanceof FrozenVertex f ? f.getUnderlying() : v;
        return u.getClass().getSimpleName();
    }

    /**
     * Compares vertex names, kinds and inputs with the graph the configuration describes, so that
     * a zip of another network is refused in one line instead of being exported half-right.
     */
    private static void checkStructure(String name, ResNeXtConfig config, ComputationGraphConfiguration conf) {
        ComputationGraphConfiguration expected;
        try {
            expected = ResNeXtGraphFactory.build(config);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new NotExportableException(name + " is not a ResNeXt of this project: its configuration is invalid ("
                    + e.getMessage() + ")");
        }
        String prefix = name + " is not a ResNeXt of this project (configuration '" + config.getName() + "'): ";
        if (!Objects.equals(conf.getNetworkInputs(), expected.getNetworkInputs())
                || !Objects.equals(conf.getNetworkOutputs(), expected.getNetworkOutputs())) {
            throw new NotExportableException(prefix + "inputs " + conf.getNetworkInputs() + " and outputs "
                    + conf.getNetworkOutputs() + " instead of " + expected.getNetworkInputs() + " and "
                    + expected.getNetworkOutputs());
        }
        Map<String, GraphVertex> have = conf.getVertices();
        Map<String, List<String>> haveInputs = conf.getVertexInputs();
        for (Map.Entry<String, GraphVertex> e : expected.getVertices().entrySet()) {
            String v = e.getKey();
            GraphVertex h = have.get(v);
            if (h == null) {
                throw new NotExportableException(prefix + "vertex '" + v + "' is missing");
            }
            if (!kind(h).equals(kind(e.getValue()))) {
                throw new NotExportableException(prefix + "vertex '" + v + "' is a " + kind(h) + ", expected a "
                        + kind(e.getValue()));
            }
            if (!Objects.equals(haveInputs.get(v), expected.getVertexInputs().get(v))) {
                throw new NotExportableException(prefix + "vertex '" + v + "' takes " + haveInputs.get(v)
                        + ", expected " + expected.getVertexInputs().get(v));
            }
        }
        for (String v : have.keySet()) {
            if (!expected.getVertices().containsKey(v)) {
                throw new NotExportableException(prefix + "it has a vertex '" + v + "' (" + kind(have.get(v))
                        + ") that the configuration does not");
            }
        }
    }
}
