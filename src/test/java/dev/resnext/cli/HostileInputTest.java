package dev.resnext.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.data.SyntheticShapes;
import dev.resnext.io.ExitCleanup;
import dev.resnext.io.NpyFiles;
import dev.resnext.io.RunOutputs;
import dev.resnext.train.Trainer;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 18: hostile inputs by class (see docs/reliability.md). Each test covers one class with
 * several examples; {@link BadInputTest} and {@link FaultsTest} hold the earlier cases.
 */
class HostileInputTest {
    @TempDir
    static Path dir;
    static Path data;
    static Path model;
    static int outs;

    @BeforeAll
    static void trainOnce() throws IOException {
        data = dir.resolve("shapes");
        SyntheticShapes.writeFolder(data, 5, 16, 7);
        // class names that CSV must quote
        Files.move(data.resolve("circle"), data.resolve("round, filled"));
        Files.move(data.resolve("cross"), data.resolve("x \"quoted\""));
        model = dir.resolve("base/m.zip");
        CliRunner.Result r = CliRunner.run("train", "--data", data.toString(), "--input", "16x16x1", "--epochs", "1",
                "--batch", "8", "--out", model.toString(), "--backend", "cpu", "--val-fraction", "0.25");
        assertEquals(0, r.code(), r.err());
    }

    static Path freshOut() {
        return dir.resolve("out-" + (++outs));
    }

    /** train with {@code extra} into a fresh folder: one error line, exit non-zero, nothing written. */
    static CliRunner.Result trainFails(String expected, String... extra) {
        Path out = freshOut();
        List<String> args = new ArrayList<>(List.of("train", "--epochs", "1", "--batch", "8", "--backend", "cpu",
                "--input", "16x16x1"));
        if (!List.of(extra).contains("--out")) args.addAll(List.of("--out", out.resolve("m.zip").toString()));
        if (!List.of(extra).contains("--data")) args.addAll(List.of("--data", data.toString()));
        args.addAll(List.of(extra));
        CliRunner.Result r = CliRunner.run(args.toArray(String[]::new));
        CliRunner.assertOneLineError(r, expected);
        assertFalse(Files.exists(out), "a failed train wrote " + out);
        assertFalse(r.err().contains("Trainer"), "found before training: " + r.err());
        assertEquals(0, ExitCleanup.pending(), "no clean-up left registered");
        return r;
    }

    // ------------------------------------------------------------ class 1: silent wrong results

    @Test
    void valuesThatCannotMeanWhatTrainingNeedsAreRefusedAtTheBoundary() {
        Path sparse = dir.resolve("sparse.npz");
        NpyFiles.writeNpz(sparse, Map.of("train_images", Nd4j.rand(DataType.FLOAT, 8, 16, 16),
                "train_labels", Nd4j.createFromArray(0, 255, 0, 255, 0, 255, 0, 255)));
        trainFails("renumber them", "--data", sparse.toString());
        trainFails("--warmup-epochs", "--warmup-epochs", "NaN");
        trainFails("--warmup-epochs", "--warmup-epochs", "Infinity");
        trainFails("all zero", "--class-weights", "0,0,0,0");
        trainFails("learningRate must be positive, was NaN", "--lr", "NaN");
    }

    // ------------------------------------------------------------ class 2: reported paths exist

    @Test
    void aResumeOfAFinishedRunIntoANewOutWritesEveryFileItNames() throws IOException {
        Path out = freshOut().resolve("again.zip");
        CliRunner.Result r = CliRunner.run("train", "--data", data.toString(), "--input", "16x16x1", "--epochs", "1",
                "--batch", "8", "--backend", "cpu", "--val-fraction", "0.25", "--resume", "--out", out.toString(),
                "--checkpoint-dir", model.resolveSibling("checkpoints").toString());
        assertEquals(0, r.code(), r.err());
        JsonNode summary = new ObjectMapper().readTree(r.out().substring(r.out().indexOf('{')));
        for (String k : List.of("model", "metrics", "curves")) {
            if (summary.has(k)) assertTrue(Files.exists(Path.of(summary.get(k).asText())), k + " " + summary.get(k));
        }
        assertTrue(Files.exists(out), "the checkpoint's last epoch was its best, so it is the model");
    }

    // ------------------------------------------------------------ class 4: no stack traces

    @Test
    void oddConfigFilesEndInOneLineNamingTheFile() throws IOException {
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("array.json", "[]");
        bad.put("null.json", "null");
        bad.put("string.json", "\"small\"");
        bad.put("empty.json", "  \n");
        bad.put("null-in-list.json", "{\"stageDepths\": [1, null]}");
        bad.put("wrong-type.json", "{\"cardinality\": \"many\"}");
        bad.put("huge-number.json", "{\"cardinality\": 1e400}");
        bad.put("nested.json", "{\"name\": {\"a\": [1, 2]}}");
        bad.put("truncated.json", "{\"name\": \"x\", ");
        for (Map.Entry<String, String> e : bad.entrySet()) {
            Path f = dir.resolve(e.getKey());
            Files.writeString(f, e.getValue());
            trainFails("--config " + f, "--config", f.toString());
        }
        Path binary = dir.resolve("binary.json");
        Files.write(binary, new byte[]{(byte) 0xff, (byte) 0xfe, 0, 1, 2});
        trainFails("--config " + binary, "--config", binary.toString());
    }

    @Test
    void unusualNpzContentsEndInOneLineNamingTheFile() throws IOException {
        Path scalar = dir.resolve("scalar.npz");
        NpyFiles.writeNpz(scalar, Map.of("train_images", Nd4j.scalar(1f), "train_labels", Nd4j.scalar(0)));
        trainFails(scalar.toString(), "--data", scalar.toString());
        Path bool = dir.resolve("bool-labels.npz");
        NpyFiles.writeNpz(bool, Map.of("train_images", Nd4j.rand(DataType.FLOAT, 4, 8, 8),
                "train_labels", Nd4j.createFromArray(true, false, true, false)));
        // bool labels are class indices 0/1: this one trains further, so only check that it is not refused as odd
        Path fiveD = dir.resolve("five-d.npz");
        NpyFiles.writeNpz(fiveD, Map.of("train_images", Nd4j.rand(DataType.FLOAT, 4, 8, 8, 1, 1),
                "train_labels", Nd4j.createFromArray(0, 1, 0, 1)));
        trainFails("must be [N,H,W] or [N,H,W,C]", "--data", fiveD.toString());
        Path channels = dir.resolve("channels.npz");
        NpyFiles.writeNpz(channels, Map.of("train_images", Nd4j.rand(DataType.FLOAT, 4, 8, 8, 2),
                "train_labels", Nd4j.createFromArray(0, 1, 0, 1)));
        trainFails("2 channels", "--data", channels.toString());
        Path object = dir.resolve("object.npz");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(object))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("train_images.npy"));
            String header = "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }";
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            b.write(new byte[]{(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) (header.length() + 1), 0});
            b.write((header + "\n").getBytes(StandardCharsets.ISO_8859_1));
            zip.write(b.toByteArray());
            zip.closeEntry();
        }
        trainFails("unsupported element type", "--data", object.toString());
    }

    @Test
    void badMemorySettingsAreOneLineNamingTheSetting() {
        String key = "org.bytedeco.javacpp.maxbytes";
        String old = System.getProperty(key);
        try {
            for (String v : List.of("-1g", "lots", "4 gigs", "")) {
                System.setProperty(key, v);
                String p = MemorySettings.problem();
                assertNotNull(p, v);
                assertTrue(p.contains("RESNEXT_OFFHEAP") && p.contains(v), p);
            }
            for (String v : List.of("4g", "1536m", "8589934592", "50%")) {
                System.setProperty(key, v);
                assertNull(MemorySettings.problem(), v);
            }
            // resnext.* settings are read once, in RuntimeSettings, which names the bad one
            java.util.Properties props = new java.util.Properties();
            props.setProperty(MemoryWatchdog.LIMIT_PROPERTY, "1.5g");
            dev.resnext.ResNeXtException e = org.junit.jupiter.api.Assertions.assertThrows(
                    dev.resnext.ResNeXtException.class, () -> dev.resnext.RuntimeSettings.from(props));
            assertTrue(e.getMessage().contains(MemoryWatchdog.LIMIT_PROPERTY), e.getMessage());
        } finally {
            if (old == null) System.clearProperty(key);
            else System.setProperty(key, old);
        }
    }

    // ------------------------------------------------------------ class 5: files left behind

    @Test
    void outputPathsThatCannotWorkAreFoundBeforeAnyWork() {
        Path out = freshOut();
        CliRunner.Result slash = CliRunner.run("train", "--data", data.toString(), "--out", out + "/", "--epochs", "1");
        CliRunner.assertOneLineError(slash, "ends with '/'");
        assertEquals(Main.EXIT_USAGE, slash.code());
        assertFalse(Files.exists(out));
        Path same = freshOut().resolve("m.zip");
        trainFails("name the same path", "--out", same.toString(), "--checkpoint-dir", same.toString());
        Path inside = freshOut().resolve("m.zip");
        trainFails("is inside --out", "--out", inside.toString(), "--checkpoint-dir", inside.resolve("ck").toString());
        Path ckAsOut = freshOut().resolve("ck");
        trainFails("would be written twice", "--out", ckAsOut.resolve(Trainer.CHECKPOINT).toString(),
                "--checkpoint-dir", ckAsOut.toString());
        Path tooLong = freshOut().resolve("m".repeat(240) + ".zip");
        trainFails("too long", "--out", tooLong.toString());
        Path longFolder = freshOut().resolve("d".repeat(300)).resolve("m.zip");
        trainFails("too long", "--out", longFolder.toString());
    }

    @Test
    void aFailedRunRemovesWhatItCreatedUnlessItCanBeResumed() throws IOException {
        Path root = freshOut();
        Path zip = root.resolve("a/m.zip");
        Path ck = root.resolve("a/ck/checkpoint.zip");
        // the disk filled after the zip was written, before the checkpoint
        RunOutputs run = RunOutputs.begin(List.of(zip, ck), List.of(ck));
        Files.createDirectories(zip.getParent());
        Files.writeString(zip, "model");
        run.failed();
        assertFalse(Files.exists(root), "the zip and the folders the run created are removed");
        // with a checkpoint the outputs are a resumable state and stay
        RunOutputs resumable = RunOutputs.begin(List.of(zip, ck), List.of(ck));
        Files.createDirectories(ck.getParent());
        Files.writeString(zip, "model");
        Files.writeString(ck, "checkpoint");
        resumable.failed();
        assertTrue(Files.exists(zip) && Files.exists(ck));
        // files that existed before the run are never removed
        Files.delete(ck);
        RunOutputs again = RunOutputs.begin(List.of(zip, ck), List.of(ck));
        again.failed();
        assertEquals("model", Files.readString(zip));
        assertEquals(0, ExitCleanup.pending());
    }

    @Test
    void aSignalWhileSavingLeavesNoTemporaryFileAndNoFolderOfAnUnfinishedRun() throws Exception {
        for (int attempt = 0; attempt < 2; attempt++) {
            Path work = freshOut();
            Files.createDirectories(work);
            Path out = work.resolve("run/m.zip");
            Process p = ChildJob.start(work, work.resolve("log.txt"), List.of("-Xmx1g"), "train", "--data",
                    data.toString(), "--input", "16x16x1", "--epochs", "3", "--batch", "8", "--backend", "cpu",
                    "--out", out.toString());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!Files.exists(out.getParent()) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            p.destroy(); // SIGTERM, the moment the run's folder appears: in the middle of its first save
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "stopped");
            List<String> tmp;
            try (Stream<Path> s = Files.walk(work)) {
                tmp = s.map(Path::toString).filter(n -> n.endsWith(".tmp")).toList();
            }
            assertEquals(List.of(), tmp, ChildJob.read(work.resolve("log.txt")));
            if (!Files.exists(out.resolveSibling("checkpoints").resolve(Trainer.CHECKPOINT))) {
                assertFalse(Files.exists(out.getParent()), "an unfinished run leaves no folder: "
                        + ChildJob.read(work.resolve("log.txt")));
            }
        }
    }

    // ------------------------------------------------------------ class 6: resource bombs

    /** A PNG of a few hundred bytes whose header says {@code w} x {@code h} grey pixels. */
    static byte[] pngBomb(int w, int h) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 0).put((byte) 0)
                .put((byte) 0).put((byte) 0).array());
        Deflater d = new Deflater(9);
        d.setInput(new byte[w + 1]); // one row of zeros: the rest is never reached
        d.finish();
        byte[] buf = new byte[1 << 16];
        int n = d.deflate(buf);
        chunk(out, "IDAT", java.util.Arrays.copyOf(buf, n));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws IOException {
        out.write(ByteBuffer.allocate(4).putInt(data.length).array());
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    @Test
    void imagesOverThePixelLimitAreRefusedFromTheirHeaderOrSkipped() throws IOException {
        Path bombDir = dir.resolve("bombs");
        Files.createDirectories(bombDir);
        Path bomb = bombDir.resolve("bomb.png");
        Files.write(bomb, pngBomb(30000, 30000));
        assertTrue(Files.size(bomb) < 100_000);
        Path wide = bombDir.resolve("wide.png");
        Files.write(wide, pngBomb(1_000_000, 100));
        Path good = data.resolve("square").resolve(Files.list(data.resolve("square")).sorted().findFirst()
                .orElseThrow().getFileName());
        for (Path b : List.of(bomb, wide)) {
            CliRunner.Result r = CliRunner.run("predict", "--model", model.toString(), good.toString(), b.toString());
            CliRunner.assertOneLineError(r, b.toString());
            assertTrue(r.errorLines().contains("--max-image-pixels"), r.err());
        }
        // skipped, and the good images' results are kept
        CliRunner.Result r = CliRunner.run("predict", "--model", model.toString(), "--skip-unreadable", "--format",
                "json", good.toString(), bomb.toString(), good.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("bomb.png") && r.out().contains("\"skipped\""), r.out());
        assertEquals(2, r.out().split("\"file\"").length - 1, r.out());
        // in a training folder: named before training, or skipped
        Path d = dir.resolve("shapes-with-bomb");
        SyntheticShapes.writeFolder(d, 4, 16, 3);
        Files.write(d.resolve("square/huge.png"), pngBomb(30000, 30000));
        trainFails("huge.png", "--data", d.toString());
        // the limit is configurable
        trainFails("--max-image-pixels", "--max-image-pixels", "0");
        trainFails("more than the limit of 100 pixels", "--max-image-pixels", "100");
    }

    // ------------------------------------------------------------ class 7: output formats

    @Test
    void predictWritesCsvThatAParserReadsBack() throws IOException {
        Path odd = dir.resolve("odd names");
        Files.createDirectories(odd);
        Path src = Files.list(data.resolve("square")).sorted().findFirst().orElseThrow();
        List<String> names = List.of("a,b.png", "say \"hi\".png", "two\nlines.png", "plain.png");
        for (String n : names) Files.copy(src, odd.resolve(n));
        CliRunner.Result r = CliRunner.run("predict", "--model", model.toString(), "--top", "4", odd.toString());
        assertEquals(0, r.code(), r.err());
        List<CSVRecord> rows = CSVFormat.RFC4180.parse(new StringReader(r.out())).getRecords();
        assertEquals(names.size() + 1, rows.size(), r.out());
        assertEquals(List.of("file", "label", "probability", "top1", "p1", "top2", "p2", "top3", "p3", "top4", "p4"),
                rows.get(0).toList());
        List<String> files = new ArrayList<>();
        java.util.Set<String> labels = new java.util.HashSet<>();
        for (CSVRecord row : rows.subList(1, rows.size())) {
            assertEquals(11, row.size(), row.toString());
            files.add(Path.of(row.get(0)).getFileName().toString());
            for (int i = 3; i < 11; i += 2) labels.add(row.get(i));
        }
        assertEquals(names.stream().sorted().toList(), files.stream().sorted().toList());
        assertTrue(labels.contains("round, filled") && labels.contains("x \"quoted\""), labels.toString());
    }

    // ------------------------------------------------------------ class 8: environment

    @Test
    void theLauncherRefusesBadSettingsInOneLineBeforeTheJvmStarts() throws Exception {
        Path launcher = Path.of("scripts/resnext").toAbsolutePath();
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(launcher) && Files.exists(Path.of("/bin/bash")));
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("RESNEXT_HEAP", "-1g");
        cases.put("RESNEXT_OFFHEAP", "-1g");
        cases.put("RESNEXT_OFFHEAP=", "lots");
        cases.put("RESNEXT_HEAP=", "1");
        cases.put("RESNEXT_OFFHEAP==", "999999t");
        cases.put("OMP_NUM_THREADS", "0");
        cases.put("RESNEXT_MALLOC_THRESHOLD", "big");
        cases.put("RESNEXT_HUGE_PAGES", "yes");
        cases.put("RESNEXT_JIT_PRIORITY", "high");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            String var = c.getKey().replace("=", "");
            ProcessBuilder pb = new ProcessBuilder("/bin/bash", launcher.toString(), "--version")
                    .redirectErrorStream(true);
            pb.environment().put(var, c.getValue());
            Process p = pb.start();
            assertTrue(p.waitFor(20, TimeUnit.SECONDS));
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(2, p.exitValue(), text);
            assertEquals(1, text.lines().count(), text);
            assertTrue(text.startsWith("error: " + var), text);
        }
    }
}
