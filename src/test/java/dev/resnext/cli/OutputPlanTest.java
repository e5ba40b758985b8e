package dev.resnext.cli;

import dev.resnext.data.SyntheticShapes;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.io.AtomicFiles;
import dev.resnext.io.ExitCleanup;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.runtime.GraphRuntime;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 18, class 5 (files left behind) for {@code evaluate} and {@code explain}: they go through
 * the output planner as train does. Every output path is checked before any work, a failed run
 * removes what it wrote, and SIGTERM leaves no temporary file and no folder of an unfinished run.
 */
class OutputPlanTest {
    @TempDir
    static Path dir;
    static Path data;
    static Path model;
    static int outs;

    /** An untrained model is enough: these tests are about files, not accuracy. */
    @BeforeAll
    static void modelAndData() {
        data = dir.resolve("shapes");
        SyntheticShapes.writeFolder(data, 18, 16, 11);
        ResNeXtConfig c = Presets.small().toBuilder().input(16, 16, 1).numClasses(SyntheticShapes.CLASSES.size())
                .build();
        model = dir.resolve("m.zip");
        ModelZip.save(model, GraphRuntime.create(ResNeXtGraphFactory.build(c)),
                ModelMetadata.create(c, SyntheticShapes.CLASSES, Map.of(), Map.of(), Map.of()), null, false);
    }

    static Path fresh() {
        return dir.resolve("out-" + (++outs));
    }

    /** Image {@code i} of class {@code i mod 4}: distinct names, so distinct overlays. */
    static Path image(int i) {
        return data.resolve(SyntheticShapes.CLASSES.get(i % SyntheticShapes.CLASSES.size()))
                .resolve(String.format("%04d.png", i));
    }

    /** One error line containing {@code expected}, found before the (missing) model was opened; nothing created. */
    static void refusedBeforeAnyWork(String expected, Path mustNotExist, String... args) {
        CliRunner.Result r = CliRunner.run(args);
        CliRunner.assertOneLineError(r, expected);
        assertFalse(r.err().contains("model zip not found"), "checked before the model is opened: " + r.err());
        if (mustNotExist != null) assertFalse(Files.exists(mustNotExist), "created " + mustNotExist);
        assertEquals(0, ExitCleanup.pending(), "no clean-up left registered");
    }

    @Test
    void evaluateChecksEveryOutputBeforeAnyWork() throws IOException {
        String missing = dir.resolve("missing.zip").toString();
        Path file = Files.writeString(fresh(), "a file");
        refusedBeforeAnyWork("is a file", null, "evaluate", "--model", missing, "--data", data.toString(),
                "--out", file.toString());
        refusedBeforeAnyWork("is a file", null, "evaluate", "--model", missing, "--data", data.toString(),
                "--out", file.resolve("eval").toString());
        Path longFolder = fresh().resolve("d".repeat(300));
        refusedBeforeAnyWork("too long", longFolder.getParent(), "evaluate", "--model", missing, "--data",
                data.toString(), "--out", longFolder.toString());
        Path clash = fresh();
        Files.createDirectories(clash.resolve("roc.png"));
        refusedBeforeAnyWork("because it is a folder", clash.resolve("metrics.json"), "evaluate", "--model", missing,
                "--data", data.toString(), "--out", clash.toString());
        // --save rewrites the model zip: its name and folder are checked too
        Path longZip = fresh().resolve("m".repeat(240) + ".zip");
        refusedBeforeAnyWork("--model: ", longZip.getParent(), "evaluate", "--model", longZip.toString(), "--data",
                data.toString(), "--threshold", "0.5", "--save");
    }

    @Test
    void explainChecksEveryOutputBeforeAnyWork() throws IOException {
        String missing = dir.resolve("missing.zip").toString();
        Path file = Files.writeString(fresh(), "a file");
        refusedBeforeAnyWork("is a file", null, "explain", "--model", missing, "--out", file.resolve("cams").toString(),
                image(0).toString());
        // the overlay's name (the input's name + .gradcam.png) is longer than the file system allows
        Path longInput = Files.copy(image(1), Files.createDirectories(fresh()).resolve("i".repeat(240) + ".png"));
        Path cams = fresh();
        refusedBeforeAnyWork("too long", cams, "explain", "--model", missing, "--out", cams.toString(),
                longInput.toString());
        Path clash = fresh();
        Files.createDirectories(clash.resolve("0002.gradcam.png"));
        refusedBeforeAnyWork("because it is a folder", clash.resolve("0001.gradcam.png"), "explain", "--model",
                missing, "--out", clash.toString(), image(1).toString(), image(2).toString());
    }

    @Test
    void aFailedEvaluateOrExplainLeavesNothingBehind() throws IOException {
        Path damaged = fresh();
        SyntheticShapes.writeFolder(damaged, 3, 16, 5);
        Path bad = damaged.resolve("circle/0000.png");
        Files.write(bad, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
        Path evalOut = fresh().resolve("eval");
        CliRunner.assertOneLineError(CliRunner.run("evaluate", "--model", model.toString(), "--data",
                damaged.toString(), "--out", evalOut.toString()), "cannot read image");
        assertFalse(Files.exists(evalOut.getParent()), "no folder of a failed evaluate");
        Path cams = fresh().resolve("cams");
        CliRunner.assertOneLineError(CliRunner.run("explain", "--model", model.toString(), "--out", cams.toString(),
                image(1).toString(), bad.toString()), "cannot read image");
        assertFalse(Files.exists(cams.getParent()), "no folder of a failed explain");
        CliRunner.assertOneLineError(CliRunner.run("explain", "--model", model.toString(), "--out", cams.toString(),
                "--class", "zebra", image(0).toString()), "unknown class");
        assertFalse(Files.exists(cams.getParent()));
        assertEquals(0, ExitCleanup.pending());
    }

    /**
     * The mechanism both commands run their work in: whatever fails after some outputs were written,
     * the files and folders the run created go, and files that existed before stay.
     */
    @Test
    void theRunRemovesWhatItCreatedWhenItsWorkFailsAtAnyPoint() throws IOException {
        List<Throwable> failures = List.of(new IllegalStateException("after the second file"),
                new OutOfMemoryError("Java heap space"), new dev.resnext.ResNeXtException("disk full"));
        for (int stopAfter = 0; stopAfter < 3; stopAfter++) {
            Path root = fresh();
            Path kept = Files.createDirectories(root).resolve("kept.json");
            Files.writeString(kept, "before");
            List<Path> files = List.of(kept, root.resolve("new/a.png"), root.resolve("new/deeper/b.csv"));
            int n = stopAfter;
            Throwable failure = failures.get(stopAfter);
            Throwable thrown = assertThrows(Throwable.class, () -> Outputs.writing(files, List.of(), () -> {
                for (int i = 0; i <= n; i++) AtomicFiles.writeString(files.get(i), "written " + i);
                if (failure instanceof Error e) throw e;
                throw (RuntimeException) failure;
            }));
            assertSame(failure, thrown);
            assertEquals("written 0", Files.readString(kept), "a file that existed is replaced, not removed");
            assertFalse(Files.exists(root.resolve("new")), "files and folders the run created are removed");
            try (Stream<Path> s = Files.walk(root)) {
                assertEquals(List.of(root, kept), s.sorted().toList());
            }
        }
        // a run that succeeds keeps everything and leaves no clean-up registered
        Path ok = fresh().resolve("x/y.txt");
        assertEquals(7, Outputs.writing(List.of(ok), List.of(), () -> {
            AtomicFiles.writeString(ok, "ok");
            return 7;
        }));
        assertTrue(Files.exists(ok));
        assertEquals(0, ExitCleanup.pending());
    }

    /** Whether a complete (renamed) output exists under {@code run}. */
    private static boolean hasFinishedOutput(Path run) throws IOException {
        if (!Files.exists(run)) return false;
        try (Stream<Path> s = Files.walk(run)) {
            return s.anyMatch(f -> Files.isRegularFile(f) && !f.getFileName().toString().endsWith(".tmp"));
        } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException e) {
            return false; // a temporary file renamed while walking
        }
    }

    /** SIGTERM in the middle of writing, after the first output is complete: no temporary file, no output, no folder. */
    @Test
    void aSignalWhileWritingLeavesNoTemporaryFileAndNoFolder() throws Exception {
        List<String> explain = new ArrayList<>(List.of("explain", "--model", model.toString(), "--backend", "cpu",
                "--out", "run/cams"));
        for (int i = 0; i < 18; i++) explain.add(image(i).toString());
        List<List<String>> commands = List.of(List.of("evaluate", "--model", model.toString(), "--backend", "cpu",
                "--data", data.toString(), "--bootstrap", "50", "--out", "run/eval"), explain);
        for (List<String> args : commands) {
            Path work = Files.createDirectories(fresh());
            Path run = work.resolve("run");
            Path log = work.resolve("log.txt");
            Process p = ChildJob.start(work, log, List.of("-Xmx1g"), args.toArray(String[]::new));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!hasFinishedOutput(run) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            p.destroy(); // SIGTERM, once the first output is complete and others are being written
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "stopped");
            List<String> tmp;
            try (Stream<Path> s = Files.walk(work)) {
                tmp = s.map(Path::toString).filter(n -> n.endsWith(".tmp")).toList();
            }
            assertEquals(List.of(), tmp, ChildJob.read(log));
            if (p.exitValue() != 0) {
                assertFalse(Files.exists(run), args.get(0) + " stopped by the signal left " + run + ": "
                        + ChildJob.read(log));
            }
        }
    }

    /** forward, export, import-torchvision and calibrate: their one output is checked before any work too. */
    @Test
    void singleFileCommandsCheckTheirOutputBeforeAnyWork() throws IOException {
        String missing = dir.resolve("missing.zip").toString();
        Path folder = Files.createDirectories(fresh());
        Path file = Files.writeString(fresh(), "a file");
        Path longName = fresh().resolve("f".repeat(300) + ".zip");
        Path input = Files.writeString(fresh(), "not read");
        for (Path bad : List.of(folder, file.resolve("x.out"), longName)) {
            String expected = bad == folder ? "is a folder" : bad == longName ? "too long" : "is a file";
            Path created = bad == longName ? longName.getParent() : null;
            refusedBeforeAnyWork(expected, created, "forward", "--model", missing, "--input", input.toString(),
                    "--output", bad.toString());
            refusedBeforeAnyWork(expected, created, "export", "--model", missing, "--format", "onnx", "--out",
                    bad.toString());
            refusedBeforeAnyWork(expected, created, "import-torchvision", "--model", "tiny", "--weights",
                    input.toString(), "--out", bad.toString());
            refusedBeforeAnyWork(expected, created, "calibrate", "--model", missing, "--data", data.toString(),
                    "--out", bad.toString());
        }
    }

    @Test
    void aFailedSingleFileCommandRemovesTheFolderItCreated() throws IOException {
        Path out = fresh().resolve("deeper").resolve("logits.npy");
        Path input = Files.writeString(fresh(), "not an npy file");
        CliRunner.Result r = CliRunner.run("forward", "--model", model.toString(), "--input", input.toString(),
                "--output", out.toString());
        assertNotEquals(0, r.code(), r.err());
        assertFalse(Files.exists(out.getParent().getParent()), "the folders made for the output are gone");
        assertEquals(0, ExitCleanup.pending());
    }
}
