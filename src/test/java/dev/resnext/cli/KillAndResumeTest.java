package dev.resnext.cli;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.data.SyntheticShapes;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelZip;
import dev.resnext.train.Trainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The training job killed with SIGKILL at random moments (a seeded test driver starts it as a child
 * process): after every kill, each model zip and checkpoint present loads and verifies, no
 * temporary file carries a model's name, and the metrics agree with the checkpoint; a final
 * {@code --resume} run completes with every epoch in the metrics and no temporary files left.
 *
 * <p>The default suite kills twice (once while a zip is being written, once at a random moment);
 * the slow variant tries eight kills (at least five must land before the job ends):
 * {@code mvn -B test -Pslow -Dtest=KillAndResumeTest}.
 */
class KillAndResumeTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void cpu() {
        Backends.initialize(BackendChoice.CPU);
    }

    /** How a run is ended. */
    enum Kill {
        /** SIGKILL after a random delay. */
        RANDOM,
        /** SIGKILL as soon as a temporary file appears: in the middle of writing a zip or metrics file. */
        WHILE_SAVING,
        /** As WHILE_SAVING, but only once a checkpoint exists (a save of epoch 2 or later). */
        WHILE_SAVING_LATER
    }

    @Test
    void survivesTwoKillsAndResumes() throws Exception {
        run(6, List.of(Kill.RANDOM, Kill.WHILE_SAVING_LATER), 2, 7);
    }

    @Test
    @Tag("slow")
    void survivesEightKillsAndResumes() throws Exception {
        run(16, List.of(Kill.WHILE_SAVING, Kill.RANDOM, Kill.WHILE_SAVING_LATER, Kill.RANDOM, Kill.WHILE_SAVING_LATER,
                Kill.RANDOM, Kill.WHILE_SAVING_LATER, Kill.RANDOM), 5, 42);
    }

    /**
     * @param minKills how many runs must really be killed (a run can finish before its random moment)
     */
    void run(int epochs, List<Kill> kills, int minKills, long seed) throws Exception {
        Path data = dir.resolve("data");
        SyntheticShapes.writeFolder(data, 4, 16, 9);
        Path out = dir.resolve("out");
        Path log = dir.resolve("child.log");
        String[] args = {"train", "--data", data.toString(), "--input", "16x16x1", "--epochs", Integer.toString(epochs),
                "--batch", "4", "--out", out.resolve("m.zip").toString(), "--backend", "cpu", "--resume", "--seed",
                "3", "--val-fraction", "0.25"};
        Random rng = new Random(seed);
        int lastEpochs = 0;
        int killed = 0;
        int whileSaving = 0;
        List<String> report = new ArrayList<>();
        for (Kill mode : kills) {
            Process p = ChildJob.start(dir, log, List.of("-Xmx1g"), args);
            long t0 = System.nanoTime();
            boolean sawTemp = false;
            if (mode == Kill.RANDOM) {
                // start-up takes 2-3 s, an epoch 1-2 s
                Thread.sleep(1500 + rng.nextInt(4500));
            } else {
                Path ck = out.resolve("checkpoints").resolve(Trainer.CHECKPOINT);
                Set<String> before = null;
                long deadline = System.nanoTime() + 120_000_000_000L;
                while (p.isAlive() && System.nanoTime() < deadline) {
                    if (before == null) {
                        if (mode == Kill.WHILE_SAVING || Files.exists(ck)) before = temporaries(out);
                    } else {
                        Set<String> now = temporaries(out);
                        now.removeAll(before);
                        if (!now.isEmpty()) {
                            sawTemp = true;
                            break;
                        }
                    }
                    Thread.sleep(1);
                }
            }
            double at = (System.nanoTime() - t0) / 1e9;
            boolean wasAlive = p.isAlive();
            ChildJob.kill(p);
            if (wasAlive) {
                killed++;
                if (sawTemp) whileSaving++;
            }
            int ck = checkIntact(out, epochs);
            assertTrue(ck >= lastEpochs, "the checkpoint never goes back");
            lastEpochs = ck;
            String line = String.format("kill %d (%s%s) after %.1f s: checkpoint at epoch %d, %d temporary files "
                            + "left", report.size() + 1, mode, sawTemp ? ", a zip was being written" : "", at, ck,
                    temporaries(out).size());
            report.add(wasAlive ? line : line + " [the job had already ended]");
            if (ck == epochs) {
                break;
            }
        }
        report.forEach(System.out::println);
        assertTrue(killed >= minKills, "at least " + minKills + " runs were killed: " + report);
        assertTrue(lastEpochs >= 1, "the final run resumes from a checkpoint: " + report);
        if (kills.contains(Kill.WHILE_SAVING) || kills.contains(Kill.WHILE_SAVING_LATER)) {
            assertTrue(whileSaving >= 1, "at least one kill hit a save: " + report);
        }

        Process p = ChildJob.start(dir, log, List.of("-Xmx1g"), args);
        int code = ChildJob.waitFor(p, 600);
        String childLog = ChildJob.read(log);
        assertEquals(0, code, childLog);
        assertEquals(epochs, checkIntact(out, epochs));
        assertTrue(childLog.contains("resuming from"), "the last run resumed: " + childLog);
        List<String> csv = Files.readAllLines(out.resolve("m.metrics.csv"));
        assertEquals(epochs + 1, csv.size(), "header + one row per epoch: " + csv);
        for (int e = 1; e <= epochs; e++) {
            assertTrue(csv.get(e).startsWith(e + ","), "row " + e + ": " + csv);
        }
        assertEquals(Set.of(), temporaries(out), "temporary files of killed runs are cleaned up");
        System.out.printf("KillAndResumeTest: %d kills survived (%d while a zip was being written), %d epochs "
                + "completed after resume%n", killed, whileSaving, epochs);
    }

    /** Temporary files in the output and checkpoint folders. */
    static Set<String> temporaries(Path out) throws IOException {
        Set<String> names = new TreeSet<>();
        for (Path d : List.of(out, out.resolve("checkpoints"))) {
            if (!Files.isDirectory(d)) continue;
            try (Stream<Path> s = Files.list(d)) {
                s.map(p -> d.relativize(p).toString()).filter(n -> n.endsWith(".tmp")).forEach(n -> names.add(
                        d.getFileName() + "/" + n));
            }
        }
        return names;
    }

    /**
     * Every zip present loads and verifies; only the two expected zip names exist; the metrics file,
     * when present, is complete and at most one epoch behind the checkpoint.
     *
     * @return epochs in the checkpoint (0 when none yet)
     */
    static int checkIntact(Path out, int epochs) throws IOException {
        if (!Files.isDirectory(out)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(out)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                String n = f.getFileName().toString();
                if (n.endsWith(".zip")) {
                    assertTrue(n.equals("m.zip") || n.equals(Trainer.CHECKPOINT), "unexpected zip " + f);
                }
                if (n.endsWith(".tmp")) {
                    assertTrue(n.startsWith("."), "temporary files are hidden: " + f);
                }
            }
        }
        Path model = out.resolve("m.zip");
        if (Files.exists(model)) {
            LoadedModel m = ModelZip.load(model);
            assertEquals(4, m.metadata().labels().size());
        }
        Path ck = out.resolve("checkpoints").resolve(Trainer.CHECKPOINT);
        int ckEpochs = 0;
        if (Files.exists(ck)) {
            LoadedModel c = ModelZip.load(ck, true);
            String state = new String(c.extras().get("training-state.json"), StandardCharsets.UTF_8);
            ckEpochs = new com.fasterxml.jackson.databind.ObjectMapper().readTree(state).get("epochsCompleted").asInt();
            assertTrue(ckEpochs >= 1 && ckEpochs <= epochs, state);
            assertTrue(Files.exists(model), "the best model is written before the checkpoint");
        }
        Path csv = out.resolve("m.metrics.csv");
        if (Files.exists(csv)) {
            List<String> lines = Files.readAllLines(csv);
            assertTrue(lines.get(0).startsWith("epoch,"), lines.toString());
            int rows = lines.size() - 1;
            assertTrue(rows == ckEpochs || rows == ckEpochs - 1, "metrics rows " + rows + " vs checkpoint epochs "
                    + ckEpochs);
        }
        return ckEpochs;
    }
}
