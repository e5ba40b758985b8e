package dev.resnext.io;

import dev.resnext.runtime.GraphOutputs;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Map;

import static dev.resnext.io.ParityFixtures.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Parity with the shared golden files (../shared/reference/torch/golden, written by
 * export_golden.py --config tiny): the {@code tiny} preset with imported weights must reproduce
 * torchvision's logits and intermediate activations. Skipped where ../shared is absent.
 */
class GoldenParityTest {

    private static Path dir;

    @BeforeAll
    static void setUp() {
        dir = sharedGolden();
    }

    // per test rather than in @BeforeAll, so that each test is reported as skipped
    @BeforeEach
    void requireSharedFiles() {
        assumeTrue(Files.isRegularFile(dir.resolve("tiny_state_dict.npz"))
                && Files.isRegularFile(dir.resolve("tiny_io.npz")), "no shared golden files at " + dir);
        initBackend();
    }

    @Test
    void tinyLogitsAndActivationsMatchTorchvision() {
        ResNeXtConfig config = Presets.tiny();
        TorchvisionImporter.ImportResult r = TorchvisionImporter.importFile(dir.resolve("tiny_state_dict.npz"), config);
        Map<String, INDArray> io = NpyFiles.readNpz(dir.resolve("tiny_io.npz"));
        INDArray input = io.get("input");
        Map<String, String> vertices = activationVertices(config);
        Map<String, INDArray> acts = GraphOutputs.activations(r.graph(), input, new ArrayList<>(vertices.values()), 8);

        INDArray logits = acts.get("head.fc");
        double d32 = maxAbsDiff(logits, io.get("logits"));
        double d64 = maxAbsDiff(logits, io.get("logits_f64"));
        System.out.printf("golden tiny: logits max|diff| %.3g vs float32 torch, %.3g vs float64 torch%n", d32, d64);
        assertTrue(d32 <= 1e-4, "logits max |diff| " + d32);
        assertTrue(d64 <= 1e-4, "logits vs float64 max |diff| " + d64);
        for (Map.Entry<String, String> e : vertices.entrySet()) {
            assertClose(io.get(e.getKey()), acts.get(e.getValue()), 1e-4, "tiny " + e.getKey());
        }
        assertEquals(io.get("logits").argMax(1), logits.argMax(1));
    }

    @Test
    void tinyLogitsMatchTorchvisionThroughTheInferencePlan() {
        ResNeXtConfig config = Presets.tiny();
        TorchvisionImporter.ImportResult r = TorchvisionImporter.importFile(dir.resolve("tiny_state_dict.npz"), config);
        var graph = dev.resnext.runtime.GraphRuntime.prepare(r.graph(), dev.resnext.runtime.GraphRuntime.Mode.INFERENCE);
        assertTrue(dev.resnext.runtime.GraphRuntime.hasInferencePlan(graph));
        Map<String, INDArray> io = NpyFiles.readNpz(dir.resolve("tiny_io.npz"));
        INDArray logits = GraphOutputs.logits(graph, io.get("input"), 8);
        double d32 = maxAbsDiff(logits, io.get("logits"));
        System.out.printf("golden tiny through the inference plan: logits max|diff| %.3g vs float32 torch%n", d32);
        assertTrue(d32 <= 1e-4, "logits max |diff| " + d32);
        assertEquals(io.get("logits").argMax(1), logits.argMax(1));
    }

    @Test
    void tinyLogitsThroughTheBf16PlanKeepTheTopClass() {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.resnext.runtime.inference.InferencePlan.bf16Supported(),
                "no AVX512_BF16 or AMX on this CPU");
        ResNeXtConfig config = Presets.tiny();
        TorchvisionImporter.ImportResult r = TorchvisionImporter.importFile(dir.resolve("tiny_state_dict.npz"), config);
        var graph = dev.resnext.runtime.GraphRuntime.prepare(r.graph(), dev.resnext.runtime.GraphRuntime.Mode.INFERENCE,
                dev.resnext.runtime.inference.InferencePlan.Precision.BF16);
        Map<String, INDArray> io = NpyFiles.readNpz(dir.resolve("tiny_io.npz"));
        INDArray logits = GraphOutputs.logits(graph, io.get("input"), 8);
        double d = maxAbsDiff(logits, io.get("logits"));
        double scale = io.get("logits").amaxNumber().doubleValue();
        System.out.printf("golden tiny through the bf16 plan: logits max|diff| %.3g at logit scale %.3g%n", d, scale);
        assertTrue(d <= 0.05 * Math.max(1, scale), "bf16 logits max |diff| " + d);
        assertEquals(io.get("logits").argMax(1), logits.argMax(1), "bf16 keeps the top class");
    }

    @Test
    void tinyWeightsAreRefusedByAnotherArchitecture() {
        ResNeXtConfig other = Presets.tiny().toBuilder().cardinality(4).build();
        StateDictMismatchException e = assertThrows(StateDictMismatchException.class,
                () -> TorchvisionImporter.importFile(dir.resolve("tiny_state_dict.npz"), other));
        assertTrue(e.key().startsWith("layer1.0."), e.getMessage());

        StateDictMismatchException classes = assertThrows(StateDictMismatchException.class,
                () -> TorchvisionImporter.importFile(dir.resolve("tiny_state_dict.npz"),
                        Presets.tiny().toBuilder().numClasses(3).build()));
        assertEquals("fc.weight", classes.key());
        assertTrue(classes.getMessage().contains("10 classes"), classes.getMessage());
    }
}
