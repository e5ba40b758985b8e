package dev.resnext.export;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs exported ONNX files in ONNX Runtime's Java API (test scope only) and compares outputs. */
final class OnnxRuntimeCheck {

    /** Outputs of one run. */
    record Outputs(INDArray logits, INDArray probabilities, Map<String, String> metadata) {
    }

    private OnnxRuntimeCheck() {
    }

    static Outputs run(Path onnx, INDArray input) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setIntraOpNumThreads(2);
            so.setInterOpNumThreads(1);
            try (OrtSession s = env.createSession(onnx.toString(), so);
                 OnnxTensor t = OnnxTensor.createTensor(env,
                         FloatBuffer.wrap(input.castTo(DataType.FLOAT).dup('c').data().asFloat()), input.shape());
                 OrtSession.Result r = s.run(Map.of(OnnxExporter.INPUT, t))) {
                float[][] logits = (float[][]) r.get(OnnxExporter.LOGITS).orElseThrow().getValue();
                float[][] probs = (float[][]) r.get(OnnxExporter.PROBABILITIES).orElseThrow().getValue();
                return new Outputs(Nd4j.create(logits), Nd4j.create(probs), s.getMetadata().getCustomMetadata());
            }
        } catch (OrtException e) {
            throw new AssertionError("ONNX Runtime cannot run " + onnx + ": " + e.getMessage(), e);
        }
    }

    /** Largest absolute difference, after checking the shapes agree. */
    static double maxAbsDiff(INDArray expected, INDArray actual) {
        assertArrayEquals(expected.shape(), actual.shape(), "shapes");
        return expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    static void assertClose(INDArray expected, INDArray actual, double tol, String what) {
        double d = maxAbsDiff(expected, actual);
        assertTrue(d <= tol, what + ": max |difference| " + d + " > " + tol);
    }
}
