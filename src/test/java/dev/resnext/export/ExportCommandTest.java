package dev.resnext.export;

import dev.resnext.cli.CliRunner;
import dev.resnext.data.SyntheticShapes;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.io.NpyFiles;
import dev.resnext.io.ParityFixtures;
import dev.resnext.io.TorchvisionImporter;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.runtime.GraphOutputs;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.resnext.export.OnnxRuntimeCheck.assertClose;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code resnext export} end to end: a fine-tuned multi-label model and imported torchvision models
 * as ONNX (ONNX Runtime must give {@code forward}'s logits within 1e-4, and PyTorch's for the
 * imported ones), the torchvision round trip import -> export -> import bit for bit, and the
 * refusals in one line.
 */
class ExportCommandTest {

    @TempDir
    static Path dir;

    @BeforeAll
    static void backend() {
        ParityFixtures.initBackend();
    }

    /** {@code forward}'s logits for an input, through the command line. */
    static INDArray forward(Path zip, INDArray x) {
        Path in = dir.resolve("x-" + System.nanoTime() + ".npy");
        Path out = dir.resolve("logits-" + System.nanoTime() + ".npy");
        NpyFiles.writeNpy(in, x);
        CliRunner.Result r = CliRunner.run("forward", "--model", zip.toString(), "--input", in.toString(),
                "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        return NpyFiles.readNpy(out);
    }

    @Test
    void fineTunedMultiLabelModel() throws Exception {
        ResNeXtConfig parentConfig = Presets.small().toBuilder().input(16, 16, 3).numClasses(10).seed(3).build();
        Path parent = OnnxExporterTest.randomModel(dir.resolve("parent.zip"), parentConfig, 4, null);
        Path images = dir.resolve("ml");
        SyntheticShapes.writeFolder(images, 6, 16, 4);
        List<String> rows = new ArrayList<>(List.of("file,round,straight,corners"));
        for (String c : SyntheticShapes.CLASSES) {
            try (var s = Files.list(images.resolve(c))) {
                for (Path f : s.sorted().toList()) {
                    rows.add(c + "/" + f.getFileName() + "," + (c.equals("circle") ? 1 : 0) + ","
                            + (c.equals("circle") ? 0 : 1) + "," + (c.equals("square") ? 1 : 0));
                }
            }
        }
        Path csv = dir.resolve("labels.csv");
        Files.write(csv, rows);
        Path zip = dir.resolve("ml-model.zip");
        CliRunner.Result ft = CliRunner.run("finetune", "--from", parent.toString(), "--data", images.toString(),
                "--labels-csv", csv.toString(), "--epochs", "1", "--batch", "8", "--out", zip.toString(),
                "--input", "16x16x1", "--augment", "none", "--freeze", "stage:1");
        assertEquals(0, ft.code(), ft.err());

        Path onnx = dir.resolve("ml.onnx");
        CliRunner.Result r = CliRunner.run("export", "--model", zip.toString(), "--out", onnx.toString(),
                "--dynamic-batch");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("wrote " + onnx), r.out());
        ResNeXtConfig c = ModelZip.readMetadata(zip).config();
        INDArray x = OnnxExporterTest.input(c, 3, 8);
        OnnxRuntimeCheck.Outputs out = OnnxRuntimeCheck.run(onnx, x);
        assertClose(forward(zip, x), out.logits(), OnnxExporterTest.TOL, "fine-tuned logits");
        assertClose(Transforms.sigmoid(out.logits(), true), out.probabilities(), 1e-6, "sigmoid");
        assertEquals("[\"round\",\"straight\",\"corners\"]", out.metadata().get("labels"));
        assertEquals("sigmoid", out.metadata().get("head"));
        assertEquals("{\"default\":0.5}", out.metadata().get("thresholds"));

        // the normaliser fitted by fine-tuning, inside the graph
        Path pre = dir.resolve("ml-pre.onnx");
        assertEquals(0, CliRunner.run("export", "--model", zip.toString(), "--out", pre.toString(),
                "--include-preprocessing", "--keep-branches", "--opset", "13", "--dynamic-batch").code());
        LoadedModel m = ModelZip.load(zip);
        INDArray standardised = x.dup();
        m.normalizer().transform(standardised);
        assertClose(GraphOutputs.logits(m.graph(), standardised, 8), OnnxRuntimeCheck.run(pre, x).logits(),
                OnnxExporterTest.TOL, "fine-tuned logits with preprocessing");
    }

    /** Imports a torchvision state dict through the command line. */
    static Path importZip(Path npz, Path config, String name) {
        Path zip = dir.resolve(name + ".zip");
        CliRunner.Result r = CliRunner.run("import-torchvision", "--weights", npz.toString(), "--config",
                config.toString(), "--out", zip.toString());
        assertEquals(0, r.code(), r.err());
        return zip;
    }

    /** Imported model as ONNX against forward and PyTorch, then the torchvision round trip. */
    static void importedModel(String name, Path stateDict, Path configJson, Path io) throws Exception {
        Path zip = importZip(stateDict, configJson, name);
        Map<String, INDArray> ioArrays = NpyFiles.readNpz(io);
        INDArray x = ioArrays.get("input");
        Path onnx = dir.resolve(name + ".onnx");
        CliRunner.Result r = CliRunner.run("export", "--model", zip.toString(), "--format", "onnx", "--out",
                onnx.toString(), "--dynamic-batch");
        assertEquals(0, r.code(), r.err());
        OnnxRuntimeCheck.Outputs out = OnnxRuntimeCheck.run(onnx, x);
        assertClose(forward(zip, x), out.logits(), OnnxExporterTest.TOL, name + " logits vs forward");
        assertClose(ioArrays.get("logits"), out.logits(), OnnxExporterTest.TOL, name + " logits vs PyTorch");
        assertTrue(out.metadata().get("provenance").contains("\"source\":\"torchvision\""));
        assertTrue(out.metadata().get("preprocessing").contains("0.485"));

        // torchvision's normalisation inside the graph: input in [0, 1]
        Path pre = dir.resolve(name + "-pre.onnx");
        assertEquals(0, CliRunner.run("export", "--model", zip.toString(), "--out", pre.toString(),
                "--dynamic-batch", "--include-preprocessing").code());
        INDArray pixels = Transforms.sigmoid(x, true);
        INDArray mean = org.nd4j.linalg.factory.Nd4j.createFromArray(0.485f, 0.456f, 0.406f).reshape(1, 3, 1, 1);
        INDArray std = org.nd4j.linalg.factory.Nd4j.createFromArray(0.229f, 0.224f, 0.225f).reshape(1, 3, 1, 1);
        INDArray standardised = pixels.sub(mean.broadcast(pixels.shape())).div(std.broadcast(pixels.shape()));
        assertClose(forward(zip, standardised), OnnxRuntimeCheck.run(pre, pixels).logits(), OnnxExporterTest.TOL,
                name + " logits with torchvision preprocessing");

        // import -> export -> import: every tensor and every parameter bit for bit
        Path npz = dir.resolve(name + "-exported.npz");
        r = CliRunner.run("export", "--model", zip.toString(), "--format", "torchvision", "--out", npz.toString());
        assertEquals(0, r.code(), r.err());
        Map<String, INDArray> original = NpyFiles.readNpz(stateDict);
        Map<String, INDArray> exported = NpyFiles.readNpz(npz);
        original.keySet().removeIf(k -> k.endsWith(TorchvisionImporter.NUM_BATCHES_TRACKED));
        assertEquals(new ArrayList<>(original.keySet()), new ArrayList<>(exported.keySet()), "keys and their order");
        original.forEach((k, v) -> {
            assertEquals(DataType.FLOAT, exported.get(k).dataType(), k);
            assertEquals(v.castTo(DataType.FLOAT), exported.get(k), k);
        });
        ComputationGraph first = ModelZip.load(zip).graph();
        ComputationGraph again = ModelZip.load(importZip(npz, configJson, name + "-again")).graph();
        assertEquals(first.params(), again.params(), "parameters after import -> export -> import");
    }

    @Test
    void importedMicroModels() throws Exception {
        for (String name : List.of(ParityFixtures.IMAGENET_MICRO, ParityFixtures.CIFAR_MICRO)) {
            importedModel(name, ParityFixtures.stateDict(name), ParityFixtures.resource(name + ".json"),
                    ParityFixtures.io(name));
        }
    }

    @Test
    void importedTinyGolden() throws Exception {
        Path golden = ParityFixtures.sharedGolden();
        Assumptions.assumeTrue(Files.isRegularFile(golden.resolve("tiny_state_dict.npz")), "no " + golden);
        Path config = dir.resolve("tiny.json");
        Files.writeString(config, Presets.tiny().toJson());
        importedModel("tiny", golden.resolve("tiny_state_dict.npz"), config, golden.resolve("tiny_io.npz"));
    }

    @Test
    void refusalsAreOneLine() throws Exception {
        Path notZip = dir.resolve("notes.zip");
        Files.writeString(notZip, "not a zip");
        Path out = dir.resolve("x.onnx");
        CliRunner.Result r = CliRunner.run("export", "--model", notZip.toString(), "--out", out.toString());
        assertEquals(1, r.code());
        assertEquals(1, r.errorLines().lines().count(), r.err());
        assertFalse(Files.exists(out));

        // graph of one configuration, metadata claiming another
        ResNeXtConfig built = Presets.small().toBuilder().input(16, 16, 3).build();
        ComputationGraph g = new ComputationGraph(dev.resnext.model.ResNeXtGraphFactory.build(built));
        g.init();
        Path other = dir.resolve("other.zip");
        ModelZip.save(other, g, ModelMetadata.create(built.toBuilder().stageDepths(1, 2, 1).build(),
                ModelMetadata.indexLabels(10), null, null, null), null, false);
        for (String format : List.of("onnx", "torchvision")) {
            r = CliRunner.run("export", "--model", other.toString(), "--format", format, "--out", out.toString());
            CliRunner.assertOneLineError(r, "other.zip is not a ResNeXt of this project");
            assertEquals(1, r.code());
            assertFalse(Files.exists(out));
        }

        Path tiny = OnnxExporterTest.randomModel(dir.resolve("t.zip"), Presets.small(), 1, null);
        r = CliRunner.run("export", "--model", tiny.toString(), "--out", out.toString(), "--include-preprocessing");
        CliRunner.assertOneLineError(r, "records no per-channel normalisation");
        assertFalse(Files.exists(out));
        r = CliRunner.run("export", "--model", tiny.toString(), "--out", out.toString(), "--opset", "12");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--opset must be 13 to 17"), r.err());
        r = CliRunner.run("export", "--model", tiny.toString(), "--format", "torchvision", "--out",
                dir.resolve("x.npz").toString(), "--keep-branches");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--keep-branches only apply to --format onnx"), r.err());
        r = CliRunner.run("export", "--model", tiny.toString(), "--format", "keras", "--out", out.toString());
        assertEquals(2, r.code());
        assertFalse(Files.exists(out));
    }
}
