package dev.resnext.model;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The stock form of a graph configuration: what a model zip stores, and what any DL4J program can
 * restore without this project's classes.
 *
 * <p>Every layer or vertex whose class is not DL4J's own (the runtime's faster variants, the
 * build-time {@link ChannelSlice}) is replaced by the DL4J class it extends, with the same
 * settings; a learning-rate schedule that is not ND4J's own is replaced by the learning rate it
 * gives at the configuration's current iteration (training jobs set their schedule again when
 * they start). Stock classes are those under {@code org.deeplearning4j.} and {@code org.nd4j.}.
 */
public final class StockForm {

    private static final Pattern CLASS_ID = Pattern.compile("\"@class\"\\s*:\\s*\"([^\"]+)\"");

    private StockForm() {
    }

    /** Whether {@code c} is one of DL4J's or ND4J's own classes. */
    public static boolean isStock(Class<?> c) {
        String n = c.getName();
        return n.startsWith("org.deeplearning4j.") || n.startsWith("org.nd4j.");
    }

    /** A stock copy of {@code conf} ({@code conf} itself is not changed). */
    public static ComputationGraphConfiguration of(ComputationGraphConfiguration conf) {
        ComputationGraphConfiguration copy = fullCopy(conf);
        int iteration = conf.getIterationCount();
        int epoch = conf.getEpochCount();
        for (Map.Entry<String, GraphVertex> e : copy.getVertices().entrySet()) {
            e.setValue(vertex(e.getKey(), e.getValue(), iteration, epoch));
        }
        return copy;
    }

    /**
     * A deep copy of {@code conf} with everything it holds: DL4J's {@code clone()} leaves the
     * training progress and the stored topological order behind.
     */
    public static ComputationGraphConfiguration fullCopy(ComputationGraphConfiguration conf) {
        ComputationGraphConfiguration copy = conf.clone();
        copy.setIterationCount(conf.getIterationCount());
        copy.setEpochCount(conf.getEpochCount());
        copy.setTopologicalOrder(conf.getTopologicalOrder());
        copy.setTopologicalOrderStr(conf.getTopologicalOrderStr());
        return copy;
    }

    /** The class names in a configuration's JSON that are not DL4J's or ND4J's (empty for a stock form). */
    public static Set<String> foreignClasses(String configurationJson) {
        Set<String> out = new TreeSet<>();
        Matcher m = CLASS_ID.matcher(configurationJson);
        while (m.find()) {
            String n = m.group(1);
            if (!n.startsWith("org.deeplearning4j.") && !n.startsWith("org.nd4j.")) {
                out.add(n);
            }
        }
        return out;
    }

    private static GraphVertex vertex(String name, GraphVertex v, int iteration, int epoch) {
        if (v instanceof org.deeplearning4j.nn.conf.graph.FrozenVertex f) {
            f.setUnderlying(vertex(name, f.getUnderlying(), iteration, epoch));
            return f;
        }
        if (v instanceof LayerVertex lv) {
            lv.getLayerConf().setLayer(layer(name, lv.getLayerConf().getLayer(), iteration, epoch));
            return lv;
        }
        if (isStock(v.getClass())) {
            return v;
        }
        if (v instanceof SubsetVertex s) {
            return new SubsetVertex(s.getFrom(), s.getTo());
        }
        if (v instanceof MergeVertex m) {
            return copyAs(m, MergeVertex.class);
        }
        throw new IllegalStateException("vertex " + name + " has no stock form: " + v.getClass().getName());
    }

    private static Layer layer(String name, Layer layer, int iteration, int epoch) {
        if (layer instanceof FrozenLayer f) {
            return refrozen(f, layer(name, f.getLayer(), iteration, epoch));
        }
        if (layer instanceof BaseWrapperLayer w) {
            w.setUnderlying(layer(name, w.getUnderlying(), iteration, epoch));
            return w;
        }
        Layer stock = layer;
        if (!isStock(layer.getClass())) {
            stock = copyAs(layer, nearestStock(name, layer.getClass()));
        }
        if (stock instanceof BaseLayer b) {
            b.setIUpdater(updater(b.getIUpdater(), iteration, epoch));
            b.setBiasUpdater(updater(b.getBiasUpdater(), iteration, epoch));
        }
        return stock;
    }

    /** The updater with a foreign learning-rate schedule replaced by the rate it gives now. */
    private static IUpdater updater(IUpdater u, int iteration, int epoch) {
        ISchedule s = u == null ? null : schedule(u);
        if (s == null || isStock(s.getClass())) {
            return u;
        }
        IUpdater copy = u.clone();
        copy.setLrAndSchedule(s.valueAt(iteration, epoch), null);
        return copy;
    }

    /** The updater's learning-rate schedule, read through its public getter where it has one. */
    private static ISchedule schedule(IUpdater u) {
        try {
            Object s = u.getClass().getMethod("getLearningRateSchedule").invoke(u);
            return s instanceof ISchedule is ? is : null;
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    @SuppressWarnings("unchecked")
    private static Class<? extends Layer> nearestStock(String name, Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getSuperclass()) {
            if (isStock(k) && Layer.class.isAssignableFrom(k) && !Modifier.isAbstract(k.getModifiers())) {
                return (Class<? extends Layer>) k;
            }
        }
        throw new IllegalStateException("layer " + name + " has no stock form: " + c.getName());
    }

    /** {@code f} around another inner layer (DL4J's FrozenLayer has no setter), with {@code f}'s own settings. */
    public static FrozenLayer refrozen(FrozenLayer f, Layer inner) {
        if (inner == f.getLayer()) {
            return f;
        }
        FrozenLayer copy = new FrozenLayer(inner);
        try {
            for (Field field : Layer.class.getDeclaredFields()) {
                if (!Modifier.isStatic(field.getModifiers())) {
                    field.setAccessible(true);
                    field.set(copy, field.get(f));
                }
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("cannot copy the settings of frozen layer " + f.getLayerName(), e);
        }
        return copy;
    }

    /**
     * A new {@code target} with the settings of {@code source}: every field of the classes both
     * share (one of the two classes extends the other), copied.
     */
    public static <T> T copyAs(Object source, Class<T> target) {
        Class<?> shared = target;
        while (shared != null && !shared.isInstance(source)) {
            shared = shared.getSuperclass();
        }
        if (shared == null || shared == Object.class
                || !(shared == source.getClass() || shared == target)) {
            throw new IllegalArgumentException(source.getClass().getName() + " and " + target.getName()
                    + " are not one the subclass of the other");
        }
        try {
            var ctor = target.getDeclaredConstructor();
            ctor.setAccessible(true);
            T copy = ctor.newInstance();
            for (Class<?> k = shared; k != null && k != Object.class; k = k.getSuperclass()) {
                for (Field f : k.getDeclaredFields()) {
                    if (Modifier.isStatic(f.getModifiers())) {
                        continue;
                    }
                    f.setAccessible(true);
                    f.set(copy, f.get(source));
                }
            }
            return copy;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("cannot copy " + source.getClass().getSimpleName() + " as "
                    + target.getSimpleName() + ": " + e, e);
        }
    }
}
