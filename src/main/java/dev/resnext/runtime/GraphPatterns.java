package dev.resnext.runtime;

import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.nd4j.linalg.activations.impl.ActivationReLU;

import java.util.Map;

/**
 * Reading a graph configuration by vertex name, as the runtime form and the compiled plans do:
 * layers and vertices looked into when DL4J wraps them as frozen, and the plain ReLU they fuse.
 */
public final class GraphPatterns {

    private GraphPatterns() {
    }

    /** A layer vertex's layer configuration, looked into when it is frozen; null for other vertices. */
    public static Layer layer(Map<String, GraphVertex> vertices, String name) {
        if (!(vertices.get(name) instanceof LayerVertex lv)) {
            return null;
        }
        Layer l = lv.getLayerConf().getLayer();
        return l instanceof FrozenLayer f ? f.getLayer() : l;
    }

    /** Whether a layer is frozen (DL4J's FrozenLayer: no update, batch norm in inference mode). */
    public static boolean frozen(Map<String, GraphVertex> vertices, String name) {
        return vertices.get(name) instanceof LayerVertex lv && lv.getLayerConf().getLayer() instanceof FrozenLayer;
    }

    /** A vertex, looked into when it is frozen. */
    public static GraphVertex vertex(Map<String, GraphVertex> vertices, String name) {
        GraphVertex g = vertices.get(name);
        return g instanceof FrozenVertex f ? f.getUnderlying() : g;
    }

    /** An activation layer applying max(0, x): no cap, threshold or negative slope. */
    public static boolean isPlainRelu(Layer l) {
        return l instanceof ActivationLayer a && a.getActivationFn() instanceof ActivationReLU r && r.getMax() == null
                && r.getThreshold() == null && r.getNegativeSlope() == null;
    }
}
