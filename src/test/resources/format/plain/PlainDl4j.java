import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.File;

/**
 * A plain DL4J program (no class of this project on its class path): restores a model zip with
 * ModelSerializer and writes the classifier's output (head.fc, the logits) for an .npy input.
 * Run by PortabilityTest as a single-file source program: java -cp DL4J-ONLY PlainDl4j.java ZIP IN OUT
 */
public class PlainDl4j {
    public static void main(String[] args) throws Exception {
        try {
            Class.forName("dev.resnext.model.ResNeXtConfig");
            System.err.println("a class of the project is on the class path");
            System.exit(3);
        } catch (ClassNotFoundException expected) {
            // as it should be
        }
        ComputationGraph graph = ModelSerializer.restoreComputationGraph(new File(args[0]), false);
        INDArray x = Nd4j.createFromNpyFile(new File(args[1]));
        INDArray logits = graph.feedForward(x, false).get("head.fc");
        Nd4j.writeAsNumpy(logits, new File(args[2]));
        System.out.println("ok " + java.util.Arrays.toString(logits.shape()));
    }
}
