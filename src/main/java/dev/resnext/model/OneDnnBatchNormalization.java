package dev.resnext.model;

import dev.resnext.backend.OneDnnBatchNormHelper;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import dev.resnext.backend.OneDnn;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Collection;

/**
 * Configuration of a DL4J {@link BatchNormalization} (same fields, parameters and behaviour) whose
 * runtime layer uses {@link OneDnnBatchNormHelper} instead of DL4J's own oneDNN helper, where it
 * can (CPU backend, oneDNN loaded; DL4J's layer falls back to its own code for anything the helper
 * declines). The class name is stored in saved model zips, so it must stay stable.
 */
public class OneDnnBatchNormalization extends BatchNormalization {

    private static final long serialVersionUID = 1L;

    /** For Jackson (DL4J's configuration JSON). */
    public OneDnnBatchNormalization() {
    }

    /** A copy of {@code bn}'s configuration (DL4J's builder cannot build subclasses). */
    public static OneDnnBatchNormalization of(BatchNormalization bn) {
        OneDnnBatchNormalization copy = new OneDnnBatchNormalization();
        for (Class<?> c = BatchNormalization.class; c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers())) {
                    continue;
                }
                try {
                    f.setAccessible(true);
                    f.set(copy, f.get(bn));
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException("cannot copy batch-normalisation setting " + f.getName(), e);
                }
            }
        }
        return copy;
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> trainingListeners,
                             int layerIndex, INDArray layerParamsView, boolean initializeParams,
                             DataType networkDataType) {
        Layer layer = super.instantiate(conf, trainingListeners, layerIndex, layerParamsView, initializeParams,
                networkDataType);
        if (OneDnn.isCpuBackend() && OneDnnBatchNormHelper.available() && !isLockGammaBeta()) {
            setHelper(layer, new OneDnnBatchNormHelper());
        }
        return layer;
    }

    /** DL4J keeps the helper in a package-private field and offers no setter. */
    private static void setHelper(Layer layer, OneDnnBatchNormHelper helper) {
        try {
            Field f = org.deeplearning4j.nn.layers.normalization.BatchNormalization.class.getDeclaredField("helper");
            f.setAccessible(true);
            f.set(layer, helper);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // leave DL4J's own helper in place: slower, same results
            org.slf4j.LoggerFactory.getLogger(OneDnnBatchNormalization.class)
                    .debug("cannot install the oneDNN batch-normalisation helper: {}", e.toString());
        }
    }

    @Override
    public OneDnnBatchNormalization clone() {
        return (OneDnnBatchNormalization) super.clone();
    }
}
