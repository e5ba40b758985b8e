package dev.resnext.runtime.layers;

import dev.resnext.backend.OneDnn;
import dev.resnext.backend.OneDnnBatchNormHelper;
import dev.resnext.compat.Dl4jInternals;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collection;

/**
 * Runtime configuration of a DL4J {@link BatchNormalization} (same fields, parameters and
 * behaviour) whose layer uses {@link OneDnnBatchNormHelper} instead of DL4J's own helper, where
 * it can (CPU backend, oneDNN loaded; DL4J's layer falls back to its own code for anything the
 * helper declines). Made by {@link dev.resnext.runtime.GraphRuntime}; never saved.
 */
public class OneDnnBatchNormalization extends BatchNormalization {

    private static final long serialVersionUID = 1L;

    /** For copying and cloning. */
    public OneDnnBatchNormalization() {
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> trainingListeners,
                             int layerIndex, INDArray layerParamsView, boolean initializeParams,
                             DataType networkDataType) {
        Layer layer = super.instantiate(conf, trainingListeners, layerIndex, layerParamsView, initializeParams,
                networkDataType);
        if (OneDnn.isCpuBackend() && OneDnnBatchNormHelper.available() && !isLockGammaBeta()
                && layer instanceof org.deeplearning4j.nn.layers.normalization.BatchNormalization bn) {
            // on failure DL4J's own code path stays: slower, same results
            Dl4jInternals.setBatchNormHelper(bn, new OneDnnBatchNormHelper());
        }
        return layer;
    }

    @Override
    public OneDnnBatchNormalization clone() {
        return (OneDnnBatchNormalization) super.clone();
    }
}
