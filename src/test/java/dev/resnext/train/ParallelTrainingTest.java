package dev.resnext.train;

import dev.resnext.RuntimeSettings;
import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.cli.CliRunner;
import dev.resnext.data.Augmentation;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelZip;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code --workers N}: data-parallel training with DL4J's ParallelWrapper, on the CPU with
 * {@code resnext.cpuReplicas} (the CUDA path, which the CPU runs only when asked), and the CPU's
 * default of one worker.
 */
class ParallelTrainingTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void cpu() {
        Backends.initialize(BackendChoice.CPU);
    }

    static final int EPOCHS = 10;

    private static dev.resnext.model.ResNeXtConfig config() {
        return TrainerTest.smallGray(12).toBuilder().learningRate(0.03).build();
    }

    private TrainingOptions options(int workers, Path out) {
        return new TrainingOptions(EPOCHS, 8, LearningRateSchedule.Kind.COSINE, 1, 10, 0.1, "none",
                Augmentation.NONE, out, dir.resolve("ckpt-" + workers), false, "val_accuracy", 0, 0, false,
                workers);
    }

    /** 1 vs 2 workers, 10 epochs each: 40 to 95 s on the shared 2-core machine, hence slow. */
    @Test
    @Tag("slow")
    void twoWorkersReachTheAccuracyBandOfOneAndWriteTheSameOutputs() {
        try (RuntimeSettings.Override o = replicas()) {
            twoWorkersReachTheAccuracyBandOfOne();
        }
    }

    private void twoWorkersReachTheAccuracyBandOfOne() {
        TrainingData data = TrainerTest.shapes(30, 12);
        Path one = dir.resolve("one.zip");
        Path two = dir.resolve("two.zip");
        Trainer.Result r1 = new Trainer(config(), data, options(1, one)).run();
        Trainer.Result r2 = new Trainer(config(), data, options(2, two)).run();
        double acc1 = ((Number) r1.bestValidation().get("val_accuracy")).doubleValue();
        double acc2 = ((Number) r2.bestValidation().get("val_accuracy")).doubleValue();
        System.out.printf("val accuracy: 1 worker %.3f, 2 workers %.3f%n", acc1, acc2);
        assertTrue(acc2 >= 0.6, "2 workers learn: validation accuracy " + acc2);
        assertTrue(acc2 >= acc1 - 0.2, "2 workers (" + acc2 + ") in the band of 1 worker (" + acc1 + ")");

        // same outputs as a single-worker run: best zip, checkpoint, metrics, curves
        assertEquals(EPOCHS, r2.history().size());
        assertTrue(Files.exists(two));
        assertTrue(Files.exists(dir.resolve("ckpt-2").resolve(Trainer.CHECKPOINT)));
        assertTrue(Files.exists(MetricsFiles.sibling(two, ".metrics.csv")));
        assertTrue(Files.exists(MetricsFiles.sibling(two, ".metrics.json")));
        assertTrue(Files.exists(MetricsFiles.sibling(two, ".curves.png")));
        for (var row : r2.history()) {
            assertTrue(Double.isFinite(((Number) row.get("train_loss")).doubleValue()), "train loss " + row);
        }
        LoadedModel m = ModelZip.load(two);
        assertEquals(2, ((Number) m.metadata().training().get("workers")).intValue());
        assertEquals(1, ((Number) ModelZip.readMetadata(one).training().get("workers")).intValue());
        // the wrapper's listener is not left on the model, and the checkpoint resumes on 2 workers
        LoadedModel ck = ModelZip.load(dir.resolve("ckpt-2").resolve(Trainer.CHECKPOINT), true);
        assertEquals(EPOCHS, ck.graph().getEpochCount());
        int batches = (data.train().size() + 7) / 8;
        assertEquals(EPOCHS * ((batches + 1) / 2), ck.graph().getIterationCount(),
                "one optimizer step per round of 2 batches");
    }

    /** Default suite: two epochs on two workers write every output, and resume continues on two workers. */
    @Test
    void twoWorkersWriteCheckpointMetricsAndZipAndResume() {
        try (RuntimeSettings.Override o = replicas()) {
            twoWorkersResume();
        }
    }

    private static RuntimeSettings.Override replicas() {
        return RuntimeSettings.override(RuntimeSettings.current().withCpuReplicas(true));
    }

    /** The CPU default: two workers asked for, one runs (one optimizer step per batch), and the zip says 1. */
    @Test
    void onTheCpuTwoWorkersRunAsOneUnlessAskedFor() {
        assertEquals(1, Trainer.workersInUse(2));
        assertEquals(1, Trainer.workersInUse(1));
        try (RuntimeSettings.Override o = replicas()) {
            assertEquals(2, Trainer.workersInUse(2));
        }
        TrainingData data = TrainerTest.shapes(6, 8);
        dev.resnext.model.ResNeXtConfig c = TrainerTest.smallGray(8).toBuilder().learningRate(0.03).build();
        Path out = dir.resolve("cpu.zip");
        TrainingOptions two = new TrainingOptions(1, 4, LearningRateSchedule.Kind.COSINE, 0, 10, 0.1, "none",
                Augmentation.NONE, out, dir.resolve("ck1"), false, "val_loss", 0, 0, false, 2);
        new Trainer(c, data, two).run();
        LoadedModel ck = ModelZip.load(dir.resolve("ck1").resolve(Trainer.CHECKPOINT), true);
        assertEquals((data.train().size() + 3) / 4, ck.graph().getIterationCount(), "one step per batch");
        assertEquals(1, ((Number) ModelZip.readMetadata(out).training().get("workers")).intValue());
    }

    private void twoWorkersResume() {
        TrainingData data = TrainerTest.shapes(6, 8);
        dev.resnext.model.ResNeXtConfig c = TrainerTest.smallGray(8).toBuilder().learningRate(0.03).build();
        Path out = dir.resolve("w2.zip");
        TrainingOptions two = new TrainingOptions(2, 4, LearningRateSchedule.Kind.COSINE, 0, 10, 0.1, "none",
                Augmentation.standard(), out, dir.resolve("ck"), false, "val_loss", 0, 1, false, 2);
        Trainer.Result first = new Trainer(c, data, two).run();
        assertEquals(1, first.epochsCompleted());
        TrainingOptions resume = new TrainingOptions(2, 4, LearningRateSchedule.Kind.COSINE, 0, 10, 0.1, "none",
                Augmentation.standard(), out, dir.resolve("ck"), true, "val_loss", 0, 0, false, 2);
        Trainer.Result r = new Trainer(c, data, resume).run();
        assertEquals(2, r.epochsCompleted());
        assertTrue(Files.exists(out));
        assertTrue(Files.exists(MetricsFiles.sibling(out, ".metrics.csv")));
        LoadedModel ck = ModelZip.load(dir.resolve("ck").resolve(Trainer.CHECKPOINT), true);
        int batches = (data.train().size() + 3) / 4;
        assertEquals(2 * ((batches + 1) / 2), ck.graph().getIterationCount(), "one step per round of 2 batches");
        assertEquals(2, ((Number) ck.metadata().training().get("workers")).intValue());
        assertTrue(ck.graph().getListeners() == null || ck.graph().getListeners().isEmpty());
    }

    @Test
    void workersMustBePositive() {
        CliRunner.assertOneLineError(CliRunner.run("train", "--workers", "0", "--epochs", "1",
                "--out", dir.resolve("m.zip").toString()), "--workers must be at least 1");
    }
}
