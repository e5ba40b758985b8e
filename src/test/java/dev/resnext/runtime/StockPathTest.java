package dev.resnext.runtime;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.model.OptimizerKind;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.model.StockForm;
import dev.resnext.runtime.layers.OneDnnConvolutionImpl;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The graph as saved, run without the runtime (what a plain DL4J program and the CUDA backend
 * run), gives the runtime's outputs and gradients.
 */
class StockPathTest {

    @BeforeAll
    static void backend() {
        Backends.initialize(BackendChoice.CPU);
    }

    private static ResNeXtConfig config(String preset) {
        ResNeXtConfig p = Presets.get(preset);
        return p.toBuilder().input(preset.equals("tiny") ? 32 : 16, preset.equals("tiny") ? 32 : 16, 3).numClasses(5)
                .optimizer(OptimizerKind.SGD).build();
    }

    @ParameterizedTest
    @ValueSource(strings = {"small", "tiny"})
    void stockGraphGivesTheRuntimeOutputsAndGradients(String preset) {
        ResNeXtConfig c = config(preset);
        ComputationGraphConfiguration stockConf = ResNeXtGraphFactory.build(c);
        assertTrue(StockForm.foreignClasses(stockConf.toJson()).isEmpty());
        ComputationGraph stock = new ComputationGraph(stockConf);
        stock.init();
        ComputationGraph fast = GraphRuntime.prepare(stock);
        assertNotSame(stock, fast);
        assertTrue(fast.getLayer("stem.conv") instanceof OneDnnConvolutionImpl impl && impl.isOneDnn(),
                "the prepared graph runs the runtime's convolution");
        double first = stock.params().getDouble(0);
        fast.params().putScalar(0, first + 1);
        assertEquals(first + 1, stock.params().getDouble(0), 1e-6, "the prepared graph shares the parameters");
        fast.params().putScalar(0, first);

        Nd4j.getRandom().setSeed(11);
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, 3, c.getInputHeight(), c.getInputWidth());
        INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 5);
        for (int i = 0; i < 4; i++) {
            y.putScalar(i, i % 5, 1);
        }
        assertClose(stock.outputSingle(false, x.dup()), fast.outputSingle(false, x.dup()), "inference output");

        stock.setInputs(x.dup());
        stock.setLabels(y);
        stock.computeGradientAndScore();
        INDArray stockGrad = stock.gradient().gradient().dup();
        double stockScore = stock.score();
        fast.setInputs(x.dup());
        fast.setLabels(y);
        fast.computeGradientAndScore();
        assertEquals(stockScore, fast.score(), 1e-4 * Math.max(1, Math.abs(stockScore)), "loss");
        assertClose(stockGrad, fast.gradient().gradient(), "gradients of every parameter");
    }

    @Test
    void stockFormOfAStockConfigurationIsTheSameConfiguration() {
        ComputationGraphConfiguration conf = ResNeXtGraphFactory.build(config("tiny"));
        conf.setIterationCount(17);
        conf.setEpochCount(3);
        assertEquals(conf.toJson(), StockForm.of(conf).toJson());
        ComputationGraph stock = new ComputationGraph(conf.clone());
        stock.init();   // records each layer's variables in the configuration
        stock.getConfiguration().setIterationCount(17);
        stock.getConfiguration().setEpochCount(3);
        assertEquals(stock.getConfiguration().toJson(),
                GraphRuntime.stockConfiguration(GraphRuntime.prepare(stock)).toJson(), "stock -> runtime -> stock");
    }

    @Test
    void preparingAPreparedGraphKeepsIt() {
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(config("small")));
        assertSame(g, GraphRuntime.prepare(g));
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        assertEquals(expected.length(), actual.length(), what);
        double scale = Math.max(1.0, expected.amaxNumber().doubleValue());
        double diff = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-4 * scale, what + ": max difference " + diff + " at scale " + scale);
    }
}
