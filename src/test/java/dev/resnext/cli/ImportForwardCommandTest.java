package dev.resnext.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.io.NpyFiles;
import dev.resnext.io.ParityFixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.resnext.io.ParityFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/** {@code import-torchvision} and {@code forward} through the command line (in-process). */
class ImportForwardCommandTest {

    @TempDir
    static Path dir;
    static Path zip;
    static Path inputNpy;
    static Map<String, INDArray> io;

    record Result(int code, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }
    }

    static Result run(String... args) {
        CommandLine cli = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    @BeforeAll
    static void importMicroModel() {
        ParityFixtures.initBackend();
        zip = dir.resolve("micro.zip");
        Result r = run("import-torchvision", "--weights", stateDict(IMAGENET_MICRO).toString(),
                "--config", resource(IMAGENET_MICRO + ".json").toString(), "--out", zip.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        io = NpyFiles.readNpz(ParityFixtures.io(IMAGENET_MICRO));
        inputNpy = dir.resolve("input.npy");
        NpyFiles.writeNpy(inputNpy, io.get("input"));
    }

    @Test
    void importedZipCarriesMetadataAndTheSummaryIsJson() throws IOException {
        ModelMetadata meta = ModelZip.readMetadata(zip);
        assertEquals("imagenet-micro", meta.config().getName());
        assertEquals(ModelMetadata.indexLabels(7), meta.labels());
        assertEquals("torchvision", meta.provenance().get("source"));
        assertEquals("imagenet-micro_state_dict.npz", meta.provenance().get("weightsFile"));
        assertEquals("torchvision", meta.preprocessing().get("convention"));
    }

    @Test
    void forwardWritesTheTorchvisionLogits() throws IOException {
        Path out = dir.resolve("logits.npy");
        Result r = run("forward", "--model", zip.toString(), "--input", inputNpy.toString(), "--output",
                out.toString(), "--batch", "1", "--json");
        assertEquals(0, r.code(), r.err());
        Map<?, ?> summary = new ObjectMapper().readValue(r.out(), Map.class);
        assertEquals(List.of(2, 7), summary.get("outputShape"));
        assertClose(io.get("logits"), NpyFiles.readNpy(out), 1e-4, "forward logits");

        Path stem = dir.resolve("stem.npy");
        assertEquals(0, run("forward", "--model", zip.toString(), "--input", inputNpy.toString(), "--output",
                stem.toString(), "--vertex", "stem.pool").code());
        assertClose(io.get("act.stem"), NpyFiles.readNpy(stem), 1e-4, "forward --vertex stem.pool");
    }

    @Test
    void anotherArchitectureFailsWithOneErrorLineAndWritesNoZip(@TempDir Path out) throws IOException {
        Path target = out.resolve("bad.zip");
        Result r = run("import-torchvision", "--weights", stateDict(CIFAR_MICRO).toString(),
                "--config", resource(IMAGENET_MICRO + ".json").toString(), "--out", target.toString());
        assertEquals(Main.EXIT_INPUT, r.code());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.errLines().get(0).startsWith("error: "), r.err());
        assertTrue(r.err().contains("'conv1.weight'"), r.err());
        assertTrue(r.out().isEmpty(), r.out());
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of(), files.toList(), "nothing may be written");
        }
    }

    @Test
    void wrongClassCountSuggestsTheOption(@TempDir Path out) throws IOException {
        Path config = out.resolve("three.json");
        Files.writeString(config, Files.readString(resource(IMAGENET_MICRO + ".json"))
                .replace("\"numClasses\" : 7", "\"numClasses\" : 3"));
        Result r = run("import-torchvision", "--weights", stateDict(IMAGENET_MICRO).toString(),
                "--config", config.toString(), "--out", out.resolve("m.zip").toString());
        assertEquals(Main.EXIT_INPUT, r.code());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().startsWith("error: tensor 'fc.weight'"), r.err());
        assertTrue(r.err().contains("--classes"), r.err());
        assertFalse(Files.exists(out.resolve("m.zip")));

        // with --classes the mismatch is the user's explicit choice: no hint, same key
        Result r2 = run("import-torchvision", "--weights", stateDict(IMAGENET_MICRO).toString(),
                "--config", resource(IMAGENET_MICRO + ".json").toString(), "--classes", "4",
                "--out", out.resolve("m.zip").toString());
        assertEquals(Main.EXIT_INPUT, r2.code());
        assertTrue(r2.err().startsWith("error: tensor 'fc.weight'"), r2.err());
    }

    @Test
    void forwardRejectsAWrongInputShapeNamingBoth(@TempDir Path out) {
        Path nhwc = out.resolve("nhwc.npy");
        NpyFiles.writeNpy(nhwc, io.get("input").permute(0, 2, 3, 1));
        Path target = out.resolve("o.npy");
        Result r = run("forward", "--model", zip.toString(), "--input", nhwc.toString(), "--output", target.toString());
        assertEquals(Main.EXIT_INPUT, r.code());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().startsWith("error: "), r.err());
        assertTrue(r.err().contains("[2, 32, 40, 3]") && r.err().contains("[N, 3, 32, 40]"), r.err());
        assertTrue(r.err().contains("NHWC"), r.err());
        assertFalse(Files.exists(target));
    }

    @Test
    void usageAndFileErrorsAreOneLine(@TempDir Path out) {
        Result noModel = run("import-torchvision", "--weights", stateDict(IMAGENET_MICRO).toString(),
                "--out", out.resolve("m.zip").toString());
        assertEquals(Main.EXIT_USAGE, noModel.code());
        assertTrue(noModel.err().startsWith("error: choose the architecture"), noModel.err());

        Result noFile = run("import-torchvision", "--weights", out.resolve("missing.npz").toString(),
                "--model", "tiny", "--out", out.resolve("m.zip").toString());
        assertEquals(Main.EXIT_INPUT, noFile.code());
        assertEquals(1, noFile.errLines().size(), noFile.err());
        assertTrue(noFile.err().startsWith("error: no such file"), noFile.err());

        Result badZip = run("forward", "--model", out.resolve("none.zip").toString(), "--input",
                inputNpy.toString(), "--output", out.resolve("o.npy").toString());
        assertEquals(Main.EXIT_INPUT, badZip.code());
        assertEquals(1, badZip.errLines().size(), badZip.err());
    }
}
