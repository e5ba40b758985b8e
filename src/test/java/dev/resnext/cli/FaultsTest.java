package dev.resnext.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.data.SyntheticShapes;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelZip;
import dev.resnext.train.Trainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Faults during a job (issue 7): a diverging loss and running out of memory. */
class FaultsTest {
    @TempDir
    static Path dir;
    static Path data;

    @BeforeAll
    static void data() {
        data = dir.resolve("shapes");
        SyntheticShapes.writeFolder(data, 5, 16, 5);
    }

    static CliRunner.Result train(Path out, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("train", "--data", data.toString(), "--input", "16x16x1",
                "--epochs", "2", "--batch", "8", "--out", out.toString(), "--backend", "cpu", "--val-fraction",
                "0.25"));
        args.addAll(List.of(extra));
        return CliRunner.run(args.toArray(String[]::new));
    }

    @Test
    void aDivergingLossStopsWithEpochAndBatchAndKeepsTheLastGoodCheckpoint() throws Exception {
        Path out = dir.resolve("nan/m.zip");
        Path ck = dir.resolve("nan/checkpoints").resolve(Trainer.CHECKPOINT);
        Path csv = dir.resolve("nan/m.metrics.csv");
        CliRunner.Result first = train(out, "--stop-after", "1");
        assertEquals(0, first.code(), first.err());
        byte[] ckBefore = Files.readAllBytes(ck);
        byte[] modelBefore = Files.readAllBytes(out);
        byte[] csvBefore = Files.readAllBytes(csv);

        // an absurd learning rate: the loss is NaN/infinite within the first epoch
        CliRunner.Result diverged = train(out, "--lr", "1e30");
        BadInputTest.assertOneLineError(diverged, "training diverged", "at epoch 1, batch", "lower the learning rate",
                "--lr", "The last good checkpoint is " + ck);
        assertEquals(Main.EXIT_INPUT, diverged.code());
        assertArrayEquals(ckBefore, Files.readAllBytes(ck), "checkpoint intact");
        assertArrayEquals(modelBefore, Files.readAllBytes(out), "model zip intact");
        assertArrayEquals(csvBefore, Files.readAllBytes(csv), "metrics intact");
        LoadedModel c = ModelZip.load(ck, true);
        assertEquals(1, new ObjectMapper().readTree(new String(c.extras().get("training-state.json"),
                StandardCharsets.UTF_8)).get("epochsCompleted").asInt());

        // the run can go on from it
        CliRunner.Result resumed = train(out, "--resume");
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(3, Files.readAllLines(csv).size(), "header + 2 epochs");
    }

    @Command(name = "heap")
    static final class HeapExhausted implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new OutOfMemoryError("Java heap space");
        }
    }

    @Command(name = "native")
    static final class NativeExhausted implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new IllegalStateException("op failed", new OutOfMemoryError("Cannot allocate new FloatPointer(1000000)"));
        }
    }

    @Test
    void outOfMemoryIsOneLineThatSaysWhatToLower() {
        for (Object cmd : List.of(new HeapExhausted(), new NativeExhausted())) {
            CommandLine cli = Main.commandLine();
            cli.addSubcommand(new CommandLine(cmd));
            StringWriter err = new StringWriter();
            cli.setErr(new PrintWriter(err, true));
            String name = new CommandLine(cmd).getCommandName();
            int code = cli.execute(name);
            BadInputTest.assertOneLineError(new CliRunner.Result(code, "", err.toString()), "out of memory",
                    "lower --batch", "RESNEXT_HEAP");
            assertEquals(Main.EXIT_INPUT, code);
        }
    }

    /** A real out-of-memory: a child JVM with a 64 MB heap (and so ~128 MB of native memory) at a large batch. */
    @Test
    void aJobThatRunsOutOfMemoryEndsInOneLineAndWritesNothing() throws Exception {
        assertChildJobEndsOutOfMemoryWritingNothing("oom", List.of("-Xmx64m"), "--input", "256x256x3",
                "--batch", "16");
    }

    /**
     * The launcher's resident-memory limit (kept by MemoryWatchdog instead of JavaCPP's per-allocation
     * check): a job past it ends like any out-of-memory, one line and nothing written. 96 MB is less
     * than a JVM with ND4J loaded needs, so the limit is passed while the job starts.
     */
    @Test
    void residentMemoryPastTheLimitEndsInOneLineAndWritesNothing() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(Path.of("/proc/self/status")), "needs /proc");
        assertChildJobEndsOutOfMemoryWritingNothing("rss", List.of("-D" + MemoryWatchdog.LIMIT_PROPERTY + "=96m"),
                "--input", "16x16x1");
    }

    /** Runs {@code train} in a child JVM; it must end with exactly the out-of-memory line and leave its folder empty. */
    private static void assertChildJobEndsOutOfMemoryWritingNothing(String name, List<String> jvmOptions,
                                                                    String... extraArgs) throws Exception {
        Path work = Files.createDirectories(dir.resolve(name + "-work"));
        Path log = dir.resolve(name + ".log");
        List<String> args = new java.util.ArrayList<>(List.of("train", "--data", data.toString(), "--epochs", "1",
                "--out", "out/m.zip", "--backend", "cpu"));
        args.addAll(List.of(extraArgs));
        Process p = ChildJob.start(work, log, jvmOptions, args.toArray(String[]::new));
        int code = ChildJob.waitFor(p, 240);
        String output = ChildJob.read(log);
        assertEquals(Main.EXIT_INPUT, code, output);
        List<String> errors = output.lines().filter(l -> l.startsWith("error:")).toList();
        assertEquals(List.of(Main.OUT_OF_MEMORY), errors, output);
        assertFalse(output.contains("\tat "), "no stack trace: " + output);
        try (Stream<Path> s = Files.list(work)) {
            assertEquals(List.of(), s.toList(), "no model, no metrics, no crash dump");
        }
    }

    @Test
    void memoryLimitsParseWithBinaryUnits() {
        assertEquals(1234, dev.resnext.RuntimeSettings.parseBytes("1234"));
        assertEquals(512L << 10, dev.resnext.RuntimeSettings.parseBytes("512k"));
        assertEquals(21694L << 20, dev.resnext.RuntimeSettings.parseBytes("21694m"));
        assertEquals(20L << 30, dev.resnext.RuntimeSettings.parseBytes("20G"));
        assertThrows(NumberFormatException.class, () -> dev.resnext.RuntimeSettings.parseBytes("lots"));
        if (Files.exists(Path.of("/proc/self/status"))) {
            assertTrue(MemoryWatchdog.residentBytes() > 0, "this JVM's resident memory from /proc");
        }
    }
}
