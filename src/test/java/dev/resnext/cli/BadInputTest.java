package dev.resnext.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.data.SyntheticShapes;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelZip;
import dev.resnext.io.NpyFiles;
import dev.resnext.train.Trainer;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Bad input through the command line (issue 7): every case ends with one "error:" line naming the
 * file or option, a non-zero exit, no stack trace, and nothing written. Complements
 * {@link JobCommandsTest#badInputGivesOneClearLine()}.
 */
class BadInputTest {
    @TempDir
    static Path dir;
    static Path data;
    static Path model;
    static Path checkpoint;
    static final AtomicInteger tried = new AtomicInteger();
    static final AtomicInteger outs = new AtomicInteger();

    @BeforeAll
    static void trainOnce() {
        data = dir.resolve("shapes");
        SyntheticShapes.writeFolder(data, 5, 16, 5);
        model = dir.resolve("base/m.zip");
        CliRunner.Result r = CliRunner.run("train", "--data", data.toString(), "--input", "16x16x1", "--epochs", "1",
                "--batch", "8", "--out", model.toString(), "--backend", "cpu", "--val-fraction", "0.25");
        assertEquals(0, r.code(), r.err());
        checkpoint = dir.resolve("base/checkpoints").resolve(Trainer.CHECKPOINT);
        assertTrue(Files.exists(checkpoint));
    }

    @AfterAll
    static void count() {
        System.out.println("BadInputTest: " + tried.get() + " bad inputs tried");
    }

    /** A fresh, not yet existing output folder. */
    static Path freshOut() {
        return dir.resolve("out-" + outs.incrementAndGet());
    }

    /** Copies the shapes folder, so that a test can damage it. */
    static Path copyOfData(String name) throws IOException {
        Path copy = dir.resolve(name);
        try (Stream<Path> s = Files.walk(data)) {
            for (Path p : s.toList()) {
                Path t = copy.resolve(data.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
        return copy;
    }

    /** Runs train with {@code extra} into a fresh folder; asserts one error line and nothing written. */
    static CliRunner.Result trainFails(String expected, String... extra) {
        Path out = freshOut();
        List<String> args = new ArrayList<>(List.of("train"));
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put("--epochs", "1");
        defaults.put("--batch", "8");
        defaults.put("--backend", "cpu");
        defaults.put("--out", out.resolve("m.zip").toString());
        defaults.put("--input", "16x16x1");
        defaults.put("--data", data.toString());
        defaults.forEach((k, v) -> {
            if (!List.of(extra).contains(k)) args.addAll(List.of(k, v));
        });
        args.addAll(List.of(extra));
        CliRunner.Result r = CliRunner.run(args.toArray(String[]::new));
        assertOneLineError(r, expected);
        assertFalse(Files.exists(out), "a failed train wrote " + out);
        return r;
    }

    static CliRunner.Result fails(String expected, String... args) {
        CliRunner.Result r = CliRunner.run(args);
        assertOneLineError(r, expected);
        return r;
    }

    static void assertOneLineError(CliRunner.Result r, String... expected) {
        tried.incrementAndGet();
        assertNotEquals(0, r.code(), r.out() + r.err());
        String errors = r.errorLines();
        assertEquals(1, errors.lines().count(), r.err());
        for (String e : expected) {
            assertTrue(errors.contains(e), "expected '" + e + "' in: " + r.err());
        }
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    // ---------------------------------------------------------------- damaged and unreadable images

    @Test
    void damagedImagesAreNamedBeforeTrainingAndEvaluation() throws IOException {
        Map<String, byte[]> bad = new LinkedHashMap<>();
        bad.put("circle/0002.png", BadFiles.garbagePng());
        bad.put("cross/0001.png", BadFiles.truncatedPng());
        bad.put("square/trunc.jpg", BadFiles.truncatedJpeg());
        bad.put("triangle/empty.png", new byte[0]);
        bad.put("triangle/text.png", "this is not a picture".getBytes());
        bad.put("circle/fake.gif", "GIF89a....".getBytes());
        int i = 0;
        for (Map.Entry<String, byte[]> e : bad.entrySet()) {
            Path d = copyOfData("damaged-" + i++);
            Path file = d.resolve(e.getKey());
            BadFiles.write(file, e.getValue());
            CliRunner.Result r = trainFails(file.toString(), "--data", d.toString());
            assertTrue(r.errorLines().contains("cannot read image") && r.errorLines().contains("--skip-unreadable"),
                    r.err());
            // it is found while scanning, before any training
            assertFalse(r.err().contains("Trainer"), "fails before training starts: " + r.err());
            Path evalOut = freshOut();
            fails(file.toString(), "evaluate", "--model", model.toString(), "--data", d.toString(), "--out",
                    evalOut.toString());
            assertFalse(Files.exists(evalOut));
        }
    }

    @Test
    void skipUnreadableDropsAndReportsEveryBadFile() throws IOException {
        Path d = copyOfData("skip");
        List<Path> bad = List.of(d.resolve("circle/0002.png"), d.resolve("cross/0001.png"),
                d.resolve("square/trunc.jpg"), d.resolve("triangle/empty.png"), d.resolve("triangle/notes.txt"));
        BadFiles.write(bad.get(0), BadFiles.garbagePng());
        BadFiles.write(bad.get(1), BadFiles.truncatedPng());
        BadFiles.write(bad.get(2), BadFiles.truncatedJpeg());
        BadFiles.write(bad.get(3), new byte[0]);
        BadFiles.write(bad.get(4), "notes".getBytes());
        Path out = freshOut().resolve("m.zip");
        CliRunner.Result r = CliRunner.run("train", "--data", d.toString(), "--input", "16x16x1", "--epochs", "1",
                "--batch", "8", "--out", out.toString(), "--backend", "cpu", "--skip-unreadable");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(bad.size(), j.get("skipped").size(), r.out());
        for (Path b : bad) {
            assertTrue(j.get("skipped").toString().contains(b.getFileName().toString()), b + " in " + j.get("skipped"));
        }
        int good = 4 * 5 - 2; // two generated images were overwritten with damaged ones

        CliRunner.Result ev = CliRunner.run("evaluate", "--model", model.toString(), "--data", d.toString(), "--json",
                "--skip-unreadable");
        assertEquals(0, ev.code(), ev.err());
        JsonNode ej = new ObjectMapper().readTree(ev.out());
        assertEquals(good, ej.get("n").asInt());
        assertEquals(bad.size(), ej.get("skipped").size());
    }

    @Test
    void aClassWhoseImagesAreAllUnreadableIsAnError() throws IOException {
        Path d = copyOfData("all-bad");
        try (Stream<Path> s = Files.list(d.resolve("square"))) {
            for (Path p : s.toList()) Files.write(p, BadFiles.garbagePng());
        }
        trainFails("has no readable images", "--data", d.toString(), "--skip-unreadable");
    }

    // ---------------------------------------------------------------- formats that must work

    @Test
    void mixedSizesChannelsAndBitDepthsTrainEvaluateAndPredict() throws Exception {
        Path d = dir.resolve("mixed-formats");
        for (String c : List.of("a", "b")) {
            for (int k = 0; k < 3; k++) {
                int s = c.equals("a") ? k : 10 + k;
                BadFiles.write(d.resolve(c + "/gray8-" + k + ".png"), BadFiles.encode(BadFiles.gray8(20, 14, s), "png"));
                BadFiles.write(d.resolve(c + "/gray16-" + k + ".png"), BadFiles.encode(BadFiles.gray16(12, 16, s), "png"));
                BadFiles.write(d.resolve(c + "/rgb-" + k + ".jpg"), BadFiles.encode(BadFiles.rgb(24, 18, s), "jpg"));
                BadFiles.write(d.resolve(c + "/rgba-" + k + ".png"), BadFiles.encode(BadFiles.rgba(16, 16, s), "png"));
                BadFiles.write(d.resolve(c + "/palette-" + k + ".gif"), BadFiles.encode(BadFiles.palette(10, 10, s), "gif"));
                BadFiles.write(d.resolve(c + "/rgb-" + k + ".bmp"), BadFiles.encode(BadFiles.rgb(9, 31, s), "bmp"));
            }
        }
        for (String input : List.of("16x16x3", "16x16x1")) {
            Path out = freshOut().resolve("m.zip");
            CliRunner.Result r = CliRunner.run("train", "--data", d.toString(), "--input", input, "--epochs", "1",
                    "--batch", "8", "--out", out.toString(), "--backend", "cpu", "--val-fraction", "0.34");
            assertEquals(0, r.code(), r.err());
            CliRunner.Result ev = CliRunner.run("evaluate", "--model", out.toString(), "--data", d.toString(), "--json");
            assertEquals(0, ev.code(), ev.err());
            assertEquals(36, new ObjectMapper().readTree(ev.out()).get("n").asInt());
            CliRunner.Result p = CliRunner.run("predict", "--model", out.toString(), d.toString());
            assertEquals(0, p.code(), p.err());
            assertEquals(37, p.out().strip().lines().count(), "header + one row per image");
        }
    }

    // ---------------------------------------------------------------- missing data, bad .npz

    @Test
    void missingFoldersAndFiles() {
        Path nowhere = dir.resolve("nowhere");
        fails("data not found: " + nowhere, "evaluate", "--model", model.toString(), "--data", nowhere.toString());
        trainFails("--val: not found", "--val", nowhere.toString());
        trainFails("--config: no such file", "--config", nowhere.resolve("c.json").toString());
        fails("no such file or folder: " + nowhere, "predict", "--model", model.toString(), nowhere.toString());
    }

    @Test
    void npzWithoutTheExpectedArrays() throws IOException {
        Path wrongKeys = dir.resolve("wrong-keys.npz");
        NpyFiles.writeNpz(wrongKeys, Map.of("x", Nd4j.zeros(DataType.FLOAT, 4, 8, 8), "y", Nd4j.zeros(DataType.INT, 4)));
        trainFails("has no 'train_images' and 'train_labels' arrays", "--data", wrongKeys.toString());

        Path trainOnly = dir.resolve("train-only.npz");
        INDArray imgs = Nd4j.rand(DataType.FLOAT, 8, 16, 16);
        INDArray labels = Nd4j.createFromArray(0, 1, 2, 3, 0, 1, 2, 3);
        NpyFiles.writeNpz(trainOnly, Map.of("train_images", imgs, "train_labels", labels));
        fails("splits present: train", "evaluate", "--model", model.toString(), "--data", trainOnly.toString());
        trainFails("has no 'test_images' and 'test_labels' arrays", "--data", trainOnly.toString(), "--val", "test");

        Path badLabels = dir.resolve("bad-labels.npz");
        NpyFiles.writeNpz(badLabels, Map.of("train_images", imgs, "train_labels", Nd4j.createFromArray(0, 1, 2)));
        trainFails("must hold one class index per image", "--data", badLabels.toString());

        Path flat = dir.resolve("flat.npz");
        NpyFiles.writeNpz(flat, Map.of("train_images", Nd4j.zeros(DataType.FLOAT, 8, 256), "train_labels", labels));
        trainFails("must be [N,H,W] or [N,H,W,C]", "--data", flat.toString());

        Path fake = dir.resolve("fake.npz");
        Files.writeString(fake, "not a zip");
        trainFails("not a valid .npz archive", "--data", fake.toString());

        Path truncated = dir.resolve("truncated.npz");
        byte[] bytes = Files.readAllBytes(trainOnly);
        Files.write(truncated, BadFiles.truncated(bytes, 0.5));
        trainFails(truncated.toString(), "--data", truncated.toString());
    }

    // ---------------------------------------------------------------- model zips and checkpoints

    @Test
    void damagedAndForeignModelZips() throws IOException {
        Path truncated = dir.resolve("truncated.zip");
        Files.write(truncated, BadFiles.truncated(Files.readAllBytes(model), 0.5));
        fails(truncated.toString(), "evaluate", "--model", truncated.toString(), "--data", data.toString());
        fails(truncated.toString(), "predict", "--model", truncated.toString(), data.toString());

        Path junk = dir.resolve("junk.zip");
        Files.writeString(junk, "not a zip at all");
        fails("not a valid model zip", "predict", "--model", junk.toString(), data.toString());

        Path plain = dir.resolve("plain-dl4j.zip");
        LoadedModel m = ModelZip.load(model);
        ModelSerializer.writeModel(m.graph(), plain.toFile(), false);
        fails("not a resnext model", "evaluate", "--model", plain.toString(), "--data", data.toString());
        fails("not a resnext model", "predict", "--model", plain.toString(), data.toString());

        Path flipped = dir.resolve("flipped.zip");
        byte[] b = Files.readAllBytes(model);
        b[b.length / 2] ^= 0x5A;
        Files.write(flipped, b);
        fails(flipped.toString(), "evaluate", "--model", flipped.toString(), "--data", data.toString());
    }

    @Test
    void forwardWithAnArrayThatDoesNotFitTheModel() throws IOException {
        Path npy = dir.resolve("wrong.npy");
        NpyFiles.writeNpy(npy, Nd4j.rand(DataType.FLOAT, 2, 3, 16, 16)); // the model takes 1 channel
        Path out = freshOut().resolve("logits.npy");
        fails("wrong.npy", "forward", "--model", model.toString(), "--input", npy.toString(), "--output",
                out.toString());
        assertFalse(Files.exists(out.getParent()));
        Path text = dir.resolve("text.npy");
        Files.writeString(text, "1,2,3");
        fails("not a NumPy .npy array", "forward", "--model", model.toString(), "--input", text.toString(),
                "--output", out.toString());
        assertFalse(Files.exists(out.getParent()));
    }

    /** A training output folder holding a copy of the base checkpoint (or {@code content}) as its checkpoint. */
    static Path withCheckpoint(byte[] content) throws IOException {
        Path out = freshOut();
        Path ck = out.resolve("checkpoints").resolve(Trainer.CHECKPOINT);
        Files.createDirectories(ck.getParent());
        Files.write(ck, content);
        return out;
    }

    static void resumeFails(Path out, String... expected) throws IOException {
        Path ck = out.resolve("checkpoints").resolve(Trainer.CHECKPOINT);
        byte[] before = Files.readAllBytes(ck);
        CliRunner.Result r = CliRunner.run("train", "--data", data.toString(), "--input", "16x16x1", "--epochs", "2",
                "--batch", "8", "--out", out.resolve("m.zip").toString(), "--backend", "cpu", "--resume",
                "--val-fraction", "0.25");
        assertOneLineError(r, expected);
        assertArrayEquals(before, Files.readAllBytes(ck), "the checkpoint is left as it was");
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(List.of(out.resolve("checkpoints")), s.toList(), "nothing else written");
        }
    }

    @Test
    void resumeFromADamagedOrForeignCheckpointNamesIt() throws IOException {
        byte[] good = Files.readAllBytes(checkpoint);
        byte[] flipped = good.clone();
        flipped[flipped.length / 2] ^= 0x5A;
        Path a = withCheckpoint(flipped);
        resumeFails(a, a.resolve("checkpoints/checkpoint.zip").toString(), "damaged");
        Path b = withCheckpoint(BadFiles.truncated(good, 0.7));
        resumeFails(b, b.resolve("checkpoints/checkpoint.zip").toString());
        Path c = withCheckpoint(Files.readAllBytes(model)); // a model zip, not a checkpoint
        resumeFails(c, "not a training checkpoint");
        Path d = withCheckpoint("garbage".getBytes());
        resumeFails(d, d.resolve("checkpoints/checkpoint.zip").toString(), "not a valid model zip");

        // a checkpoint of another architecture (here: another input size) where shapes must match
        Path e = withCheckpoint(good);
        Path ck = e.resolve("checkpoints").resolve(Trainer.CHECKPOINT);
        CliRunner.Result r = CliRunner.run("train", "--data", data.toString(), "--input", "24x24x1", "--epochs", "2",
                "--batch", "8", "--out", e.resolve("m.zip").toString(), "--backend", "cpu", "--resume");
        assertOneLineError(r, "cannot resume: the checkpoint " + ck, "is for model");
        assertArrayEquals(good, Files.readAllBytes(ck));
    }

    // ---------------------------------------------------------------- options

    @Test
    void nonsensicalOptionsAreRefusedBeforeAnyWork() {
        String[][] cases = {
                {"--epochs", "-1", "--epochs"},
                {"--epochs", "0", "--epochs"},
                {"--epochs", "many", "--epochs"},
                {"--batch", "0", "--batch"},
                {"--batch", "-8", "--batch"},
                {"--val-fraction", "1.5", "--val-fraction"},
                {"--val-fraction", "0", "--val-fraction"},
                {"--val-fraction", "NaN", "--val-fraction"},
                {"--optimizer", "rmsprop", "--optimizer"},
                {"--augment", "flip,zoom", "--augment"},
                {"--schedule", "linear", "schedule"},
                {"--monitor", "val_f1", "--monitor"},
                {"--patience", "-1", "--patience"},
                {"--warmup-epochs", "-1", "--warmup-epochs"},
                {"--step-gamma", "2", "--step-gamma"},
                {"--input", "0x0x1", "input shape"},
                {"--input", "big", "input shape"},
                {"--model", "resnext9000", "resnext9000"},
                {"--backend", "tpu", "tpu"},
                {"--frobnicate", "1", "--frobnicate"},
        };
        for (String[] c : cases) {
            CliRunner.Result r = trainFails(c[2], c[0], c[1]);
            assertEquals(Main.EXIT_USAGE, r.code(), String.join(" ", c) + ": " + r.err());
            assertFalse(r.err().contains("Trainer"), "refused before training: " + r.err());
        }
        trainFails("--class-weights", "--class-weights", "1,2");
        trainFails("--classes 3 does not match the data", "--classes", "3");
        fails("--batch", "evaluate", "--model", model.toString(), "--data", data.toString(), "--batch", "0");
        fails("--threshold", "evaluate", "--model", model.toString(), "--data", data.toString(), "--threshold", "1.5");
        fails("--top", "predict", "--model", model.toString(), "--top", "0", data.toString());
        fails("--format", "predict", "--model", model.toString(), "--format", "xml", data.toString());
    }

    // ---------------------------------------------------------------- outputs that cannot be written

    @Test
    void anUnwritableOutputFailsAtOnceAndCreatesNothing() throws IOException {
        Path file = dir.resolve("a-file");
        Files.writeString(file, "x");
        CliRunner.Result r = trainFails("is a file", "--out", file.resolve("sub/m.zip").toString());
        assertTrue(r.errorLines().contains(file.toString()), r.err());
        trainFails("--checkpoint-dir", "--checkpoint-dir", file.resolve("ck").toString());
        Path folder = Files.createDirectories(dir.resolve("a-folder"));
        trainFails("is a folder", "--out", folder.toString());
        assertEquals(0, folder.toFile().list().length);
    }

    @Test
    void aReadOnlyOutputFolderFailsAtOnce() throws IOException {
        boolean root = "root".equals(System.getProperty("user.name"));
        org.junit.jupiter.api.Assumptions.assumeFalse(root, "root writes to read-only folders; covered by the "
                + "regular-file parent case");
        Path ro = Files.createDirectories(dir.resolve("read-only"));
        assertTrue(ro.toFile().setWritable(false, false));
        try {
            CliRunner.Result r = trainFails("read-only", "--out", ro.resolve("m.zip").toString());
            assertTrue(r.errorLines().contains(ro.toString()));
        } finally {
            ro.toFile().setWritable(true, false);
        }
    }
}
