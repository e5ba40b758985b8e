package dev.resnext.io;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.VertexNames;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Test fixtures for torchvision parity: the project's own micro models in src/test/resources/parity
 * (written by scripts/export-torchvision.py, see regenerate.sh there) and, where present, the shared
 * golden files in ../shared/reference/torch/golden.
 */
public final class ParityFixtures {

    /** Micro fixtures that ship with the project. */
    public static final String IMAGENET_MICRO = "imagenet-micro";
    public static final String CIFAR_MICRO = "cifar-micro";

    private ParityFixtures() {
    }

    /** Initialises ND4J the way the commands do (CPU in tests). */
    public static void initBackend() {
        Backends.initialize(BackendChoice.fromEnvironment());
    }

    public static Path resource(String name) {
        try {
            var url = ParityFixtures.class.getResource("/parity/" + name);
            assertNotNull(url, "missing test resource parity/" + name);
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static ResNeXtConfig microConfig(String name) {
        try {
            return ResNeXtConfig.fromJson(Files.readString(resource(name + ".json")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path stateDict(String name) {
        return resource(name + "_state_dict.npz");
    }

    public static Path io(String name) {
        return resource(name + "_io.npz");
    }

    /** ../shared/reference/torch/golden (or -Dresnext.shared=DIR/reference/torch/golden's DIR). */
    public static Path sharedGolden() {
        String shared = System.getProperty("resnext.shared");
        Path base = shared != null ? Path.of(shared) : Path.of(System.getProperty("user.dir")).resolve("../shared");
        return base.resolve("reference/torch/golden").normalize();
    }

    /** The io keys written by both exporters, mapped to the DL4J vertex that must produce the same values. */
    public static Map<String, String> activationVertices(ResNeXtConfig c) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("act.stem", VertexNames.stemOutput(c.getStem()));
        m.put("act.layer1.0", VertexNames.blockOutput(1, 0));
        for (int s = 1; s <= c.numStages(); s++) {
            m.put("act.layer" + s, VertexNames.stageOutput(c, s));
        }
        m.put("act.pooled", VertexNames.HEAD_POOL);
        m.put("logits", VertexNames.HEAD_FC);
        return m;
    }

    public static double maxAbsDiff(INDArray a, INDArray b) {
        assertArrayEquals(b.shape(), a.shape(), "shape " + Arrays.toString(a.shape()) + " vs "
                + Arrays.toString(b.shape()));
        return Transforms.abs(a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE))).maxNumber().doubleValue();
    }

    public static void assertClose(INDArray expected, INDArray actual, double tol, String what) {
        double d = maxAbsDiff(actual, expected);
        assertTrue(d <= tol, what + ": max |diff| " + d + " > " + tol);
    }
}
