package dev.resnext.backend;

import dev.resnext.runtime.GraphRuntime;

import dev.resnext.runtime.layers.OneDnnConvolutionImpl;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.deeplearning4j.nn.layers.convolution.subsampling.SubsamplingLayer;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNBatchNormHelper;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNConvHelper;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNSubsamplingHelper;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Guards the biggest speed levers: the oneDNN layer helpers. M2.1 ships DL4J's off and drops them
 * silently when its environment class lookup fails (see {@code org.nd4j.nativeblas.Nd4jCpu}); without
 * them ResNeXt-50 runs 5-9 times slower. This test fails if any convolution, batch normalisation or
 * pooling layer of a built graph runs without its oneDNN helper (batch normalisation: this project's
 * {@link OneDnnBatchNormHelper}), or fell back to the built-in code after a helper error, in a
 * forward pass or a training step.
 */
class OneDnnHelpersTest {

    @BeforeAll
    static void backend() {
        Backends.initialize(BackendChoice.CPU);
    }

    @Test
    void helpersReportedOnAtStartup() {
        assertTrue(Backends.oneDnnBuildPresent(), "the linux-x86_64-onednn native build is not on the classpath");
        assertTrue(Backends.oneDnnKernelsActive(), "oneDNN kernels are off: " + Backends.current().describe());
        assertTrue(Backends.current().oneDnnKernels());
    }

    @Test
    void everyConvBnAndPoolLayerRunsOnItsOneDnnHelper() throws Exception {
        // the tiny preset has the ImageNet stem, so it holds a max-pooling layer as well
        ResNeXtConfig c = Presets.tiny().toBuilder().input(32, 32, 3).numClasses(3).build();
        ComputationGraph graph = GraphRuntime.create(ResNeXtGraphFactory.build(c));
        INDArray x = Nd4j.rand(graph.getConfiguration().getDataType(), 2, 3, 32, 32);
        INDArray y = Nd4j.zeros(graph.getConfiguration().getDataType(), 2, 3);
        y.putScalar(0, 1, 1);
        y.putScalar(1, 2, 1);
        graph.output(false, x);
        graph.fit(new DataSet(x, y));

        int conv = 0;
        int bn = 0;
        int pool = 0;
        int ownBn = 0;
        List<String> problems = new ArrayList<>();
        for (Layer layer : graph.getLayers()) {
            String name = layer.conf().getLayer().getLayerName();
            if (layer instanceof ConvolutionLayer) {
                conv++;
                if (!(layer instanceof OneDnnConvolutionImpl fast) || !fast.isOneDnn()) {
                    problems.add(name + " (not on the cached oneDNN convolution)");
                }
            } else if (layer instanceof BatchNormalization) {
                bn++;
                check(layer, OneDnnBatchNormHelper.class, BatchNormalization.class, name, problems);
                if (layer.getHelper() instanceof OneDnnBatchNormHelper) {
                    ownBn++;
                }
            } else if (layer instanceof SubsamplingLayer) {
                pool++;   // libnd4j's maxpool2d, which the oneDNN build runs on oneDNN
            }
        }
        assertTrue(conv > 10 && bn > 5, "expected many conv and BN layers, got " + conv + " and " + bn);
        assertEquals(1, pool, "the ImageNet stem has one max pool");
        assertEquals(bn, ownBn, "batch normalisation should run on OneDnnBatchNormHelper");
        assertTrue(problems.isEmpty(), problems.size() + " layers without a working oneDNN helper, e.g. "
                + problems.subList(0, Math.min(5, problems.size())));
    }

    private static void check(Layer layer, Class<?> helperClass, Class<?> declaring, String name,
                              List<String> problems) throws ReflectiveOperationException {
        Object helper = layer.getHelper();
        if (helper == null) {
            problems.add(name + " (no helper)");
            return;
        }
        if (!helperClass.isInstance(helper)) {
            problems.add(name + " (helper " + helper.getClass().getSimpleName() + ")");
            return;
        }
        // a helper that threw is kept but bypassed: DL4J counts the failure and falls back
        Field fails = declaring.getDeclaredField("helperCountFail");
        fails.setAccessible(true);
        int n = fails.getInt(layer);
        if (n != 0) {
            problems.add(name + " (helper failed " + n + " times, fell back to built-in code)");
        }
        assertFalse(helper.getClass().getName().contains("Cudnn"), name);
    }
}
