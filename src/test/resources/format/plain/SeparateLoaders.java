import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;

/**
 * DL4J on the application class path, this project's classes in a child class loader (as on a
 * Spark cluster that provides DL4J): builds a network through the runtime door and trains a step.
 * A class of ours inside DL4J's packages would fail here with IllegalAccessError.
 * Usage: java -cp DL4J-ONLY SeparateLoaders.java PROJECT_CLASSES_DIR
 */
public class SeparateLoaders {
    public static void main(String[] args) throws Exception {
        ClassLoader ours = new URLClassLoader(new URL[] {new File(args[0]).toURI().toURL()},
                SeparateLoaders.class.getClassLoader());
        Class<?> presets = Class.forName("dev.resnext.model.Presets", true, ours);
        Object config = presets.getMethod("tiny").invoke(null);
        Class<?> factory = Class.forName("dev.resnext.model.ResNeXtGraphFactory", true, ours);
        ComputationGraphConfiguration conf = (ComputationGraphConfiguration) factory
                .getMethod("build", config.getClass()).invoke(null, config);
        Class<?> runtime = Class.forName("dev.resnext.runtime.GraphRuntime", true, ours);
        ComputationGraph graph = (ComputationGraph) runtime.getMethod("create", ComputationGraphConfiguration.class)
                .invoke(null, conf);
        if (graph.getClass().getClassLoader() == ours) {
            throw new AssertionError("DL4J was loaded by the project's loader");
        }
        Class<?> internals = Class.forName("dev.resnext.compat.Dl4jInternals", true, ours);
        boolean reachable = (Boolean) internals.getMethod("allReachable").invoke(null);
        Object ws = internals.getMethod("activationGradientWorkspace", ComputationGraph.class).invoke(null, graph);
        int h = (Integer) config.getClass().getMethod("getInputHeight").invoke(config);
        int w = (Integer) config.getClass().getMethod("getInputWidth").invoke(config);
        int c = (Integer) config.getClass().getMethod("getInputChannels").invoke(config);
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, c, h, w);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 2, graph.getLayer("head.fc").getParam("b").length());
        y.putScalar(0, 0, 1);
        y.putScalar(1, 1, 1);
        graph.fit(new DataSet(x, y));
        System.out.println("ok reachable=" + reachable + " workspace=" + (ws != null) + " score=" + graph.score()
                + " impl=" + graph.getLayer("stem.conv").getClass().getName());
    }
}
