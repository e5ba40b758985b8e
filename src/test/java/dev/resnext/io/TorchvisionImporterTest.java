package dev.resnext.io;

import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.io.AtomicFiles;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.runtime.GraphRuntime;

import dev.resnext.runtime.GraphOutputs;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.resnext.io.ParityFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/** Import of the project's own micro fixtures (no ../shared needed): parity and refusals. */
class TorchvisionImporterTest {

    @BeforeAll
    static void backend() {
        initBackend();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {IMAGENET_MICRO, CIFAR_MICRO})
    void importedMicroModelMatchesTorchvisionLogitsAndActivations(String name) {
        ResNeXtConfig config = microConfig(name);
        TorchvisionImporter.ImportResult r = TorchvisionImporter.importFile(stateDict(name), config);
        Map<String, INDArray> io = NpyFiles.readNpz(io(name));
        Map<String, String> vertices = activationVertices(config);
        Map<String, INDArray> acts = GraphOutputs.activations(r.graph(), io.get("input"),
                new ArrayList<>(vertices.values()), 8);
        for (Map.Entry<String, String> e : vertices.entrySet()) {
            assertClose(io.get(e.getKey()), acts.get(e.getValue()), 1e-4, name + " " + e.getKey());
        }
        System.out.printf("parity %s: logits max|diff| %.3g%n", name, maxAbsDiff(acts.get("head.fc"), io.get("logits")));
        assertClose(io.get("logits"), GraphOutputs.logits(r.graph(), io.get("input"), 1), 1e-4, name + " logits, batch 1");
        assertEquals(r.graph().numParams(), torchParams(NpyFiles.readNpz(stateDict(name))));
    }

    @Test
    void countersAreIgnoredAndProvenanceIsRecorded() {
        TorchvisionImporter.ImportResult r = TorchvisionImporter.importFile(stateDict(IMAGENET_MICRO),
                microConfig(IMAGENET_MICRO));
        assertFalse(r.ignored().isEmpty());
        assertTrue(r.ignored().stream().allMatch(k -> k.endsWith(".num_batches_tracked")));
        assertEquals(TorchvisionImporter.mappings(microConfig(IMAGENET_MICRO)).size(), r.tensors());
        assertEquals("torchvision", r.provenance().get("source"));
        assertEquals(64, String.valueOf(r.provenance().get("sha256")).length());
    }

    @Test
    void importSaveRestoreForwardGivesIdenticalLogits(@TempDir Path dir) {
        ResNeXtConfig config = microConfig(IMAGENET_MICRO);
        TorchvisionImporter.ImportResult r = TorchvisionImporter.importFile(stateDict(IMAGENET_MICRO), config);
        INDArray input = NpyFiles.readNpz(io(IMAGENET_MICRO)).get("input");
        INDArray before = GraphOutputs.logits(r.graph(), input, 8);

        Path zip = dir.resolve("imported.zip");
        ModelZip.save(zip, r.graph(), ModelMetadata.create(config, ModelMetadata.indexLabels(config.getNumClasses()),
                TorchvisionImporter.TORCHVISION_PREPROCESSING, r.provenance(), Map.of()), null, false);
        LoadedModel loaded = ModelZip.load(zip);
        INDArray after = GraphOutputs.logits(loaded.graph(), input, 8);
        assertEquals(before, after, "logits after save/restore must be identical");
        assertEquals(config, loaded.metadata().config());
        assertEquals("torchvision", loaded.metadata().provenance().get("source"));

        // ready for fine-tuning: one training step runs and changes the weights
        ComputationGraph g = loaded.graph();
        INDArray paramsBefore = g.params().dup();
        INDArray labels = Nd4j.zeros(DataType.FLOAT, input.size(0), config.getNumClasses());
        labels.putScalar(0, 1, 1f);
        labels.putScalar(1, 3, 1f);
        g.fit(new INDArray[] {input}, new INDArray[] {labels});
        assertNotEquals(paramsBefore, g.params());
    }

    @Test
    void stateDictOfAnotherArchitectureIsRefusedNamingTheFirstKey() {
        // the CIFAR micro weights have a 3x3 stem conv; the ImageNet micro model needs 7x7
        StateDictMismatchException e = assertThrows(StateDictMismatchException.class,
                () -> TorchvisionImporter.importFile(stateDict(CIFAR_MICRO), microConfig(IMAGENET_MICRO)));
        assertEquals("conv1.weight", e.key());
        assertOneLine(e.getMessage());
        assertTrue(e.getMessage().contains("[8, 3, 3, 3]") && e.getMessage().contains("[8, 3, 7, 7]"), e.getMessage());

        // a full-size preset is refused before anything is built
        StateDictMismatchException big = assertThrows(StateDictMismatchException.class,
                () -> TorchvisionImporter.importFile(stateDict(IMAGENET_MICRO), Presets.resnext50_32x4d()));
        assertEquals("conv1.weight", big.key());
    }

    @Test
    void wrongShapeMissingUnexpectedAndIntegerTensorsAreRefused(@TempDir Path dir) {
        ResNeXtConfig config = microConfig(IMAGENET_MICRO);
        Map<String, INDArray> sd = NpyFiles.readNpz(stateDict(IMAGENET_MICRO));

        Map<String, INDArray> wrongShape = new LinkedHashMap<>(sd);
        wrongShape.put("layer2.0.conv2.weight", Nd4j.zeros(DataType.FLOAT, 8, 4, 3, 3));
        assertRefused(dir, config, wrongShape, "layer2.0.conv2.weight", "has shape [8, 4, 3, 3]");

        Map<String, INDArray> missing = new LinkedHashMap<>(sd);
        missing.remove("layer3.1.bn2.running_var");
        assertRefused(dir, config, missing, "layer3.1.bn2.running_var", "missing tensor");

        Map<String, INDArray> unexpected = new LinkedHashMap<>(sd);
        unexpected.put("layer5.0.conv1.weight", Nd4j.zeros(DataType.FLOAT, 4, 4, 1, 1));
        assertRefused(dir, config, unexpected, "layer5.0.conv1.weight", "unexpected tensor");

        Map<String, INDArray> integer = new LinkedHashMap<>(sd);
        integer.put("fc.bias", Nd4j.zeros(DataType.LONG, 7));
        assertRefused(dir, config, integer, "fc.bias", "floating-point");

        Map<String, INDArray> classes = new LinkedHashMap<>(sd);
        classes.put("fc.weight", Nd4j.zeros(DataType.FLOAT, 3, 128));
        assertRefused(dir, config, classes, "fc.weight", "3 classes");

        Map<String, INDArray> prefixed = new LinkedHashMap<>();
        sd.forEach((k, v) -> prefixed.put("module." + k, v));
        assertRefused(dir, config, prefixed, "module.conv1.weight", "DataParallel");
    }

    @Test
    void mismatchLeavesAnExistingGraphUntouched() {
        ResNeXtConfig config = microConfig(IMAGENET_MICRO);
        ComputationGraph graph = GraphRuntime.create(ResNeXtGraphFactory.build(config));
        INDArray before = graph.params().dup();
        Map<String, INDArray> sd = new LinkedHashMap<>(NpyFiles.readNpz(stateDict(IMAGENET_MICRO)));
        sd.remove("fc.bias");
        assertThrows(StateDictMismatchException.class, () -> TorchvisionImporter.load(graph, config, sd, "x"));
        assertEquals(before, graph.params());
    }

    private static void assertRefused(Path dir, ResNeXtConfig config, Map<String, INDArray> sd, String key,
                                      String fragment) {
        Path file = dir.resolve("sd-" + Math.abs(key.hashCode()) + ".npz");
        NpyFiles.writeNpz(file, sd);
        StateDictMismatchException e = assertThrows(StateDictMismatchException.class,
                () -> TorchvisionImporter.importFile(file, config));
        assertEquals(key, e.key(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
        assertTrue(e.getMessage().contains("'" + key + "'"), e.getMessage());
        assertOneLine(e.getMessage());
        // the in-memory path reports the same key
        StateDictMismatchException e2 = assertThrows(StateDictMismatchException.class,
                () -> TorchvisionImporter.importStateDict(config, sd, "sd"));
        assertEquals(key, e2.key());
    }

    static void assertOneLine(String s) {
        assertFalse(s.contains("\n") || s.contains("\r"), "message must be one line: " + s);
    }

    private static long torchParams(Map<String, INDArray> sd) {
        long n = 0;
        for (Map.Entry<String, INDArray> e : sd.entrySet()) {
            String k = e.getKey();
            if (!k.endsWith("num_batches_tracked")) {
                n += e.getValue().length();
            }
        }
        return n;
    }
}
