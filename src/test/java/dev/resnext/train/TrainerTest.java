package dev.resnext.train;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.data.Augmentation;
import dev.resnext.data.Batches;
import dev.resnext.data.ImageSet;
import dev.resnext.data.PreparedImages;
import dev.resnext.data.Splits;
import dev.resnext.data.SyntheticShapes;
import dev.resnext.eval.ModelScoring;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelZip;
import dev.resnext.model.InputShape;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class TrainerTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void cpu() {
        Backends.initialize(BackendChoice.CPU);
    }

    static ResNeXtConfig smallGray(int size) {
        return Presets.small().toBuilder().input(size, size, 1).numClasses(4).learningRate(0.1).seed(7).build();
    }

    static TrainingData shapes(int perClass, int size) {
        ImageSet all = SyntheticShapes.inMemory(perClass, size, 11);
        Splits.Split s = Splits.stratified(all.labels(), 0.2, 3);
        return new TrainingData(all.subset(s.train(), "train"), all.subset(s.val(), "val"),
                SyntheticShapes.CLASSES, Map.of("source", "generated"));
    }

    TrainingOptions options(int epochs, Path out, boolean resume, int stopAfter) {
        return new TrainingOptions(epochs, 32, LearningRateSchedule.Kind.COSINE, 1, 10, 0.1, "none",
                new Augmentation(true, 0.1, 0), out, dir.resolve("ckpt-" + out.getFileName()), resume,
                "val_accuracy", 0, stopAfter, false);
    }

    @Test
    void smallPresetLearnsGeneratedShapes() {
        TrainingData data = shapes(200, 24);
        Path out = dir.resolve("shapes.zip");
        Trainer.Result r = new Trainer(smallGray(24), data, options(12, out, false, 0)).run();
        double acc = ((Number) r.bestValidation().get("val_accuracy")).doubleValue();
        assertTrue(acc >= 0.95, "validation accuracy " + acc);
        assertTrue(Files.exists(out));
        assertTrue(Files.exists(MetricsFiles.sibling(out, ".metrics.csv")));
        assertTrue(Files.exists(MetricsFiles.sibling(out, ".metrics.json")));
        assertTrue(Files.exists(MetricsFiles.sibling(out, ".curves.png")));
        assertEquals(12, r.history().size());

        // the zip carries labels, normaliser, config; predictions from it equal the best epoch's
        LoadedModel m = ModelZip.load(out);
        assertEquals(SyntheticShapes.CLASSES, m.metadata().labels());
        assertNotNull(m.normalizer());
        assertEquals(smallGray(24).getName(), m.metadata().config().getName());
        PreparedImages val = new PreparedImages(data.val(), new InputShape(24, 24, 1));
        ModelScoring.Scores s = ModelScoring.predict(m.graph(), Batches.inOrder(val, 16, 4, m.normalizer()));
        assertEquals(acc, s.metrics(SyntheticShapes.CLASSES).accuracy(), 1e-9);
    }

    @Test
    void resumeGivesTheSameStateAsAnUninterruptedRun() {
        TrainingData data = shapes(24, 16);
        ResNeXtConfig config = smallGray(16);
        Path a = dir.resolve("a.zip");
        new Trainer(config, data, options(2, a, false, 0)).run();
        Path b = dir.resolve("b.zip");
        Trainer.Result first = new Trainer(config, data, options(2, b, false, 1)).run();
        assertEquals(1, first.epochsCompleted());
        Trainer.Result resumed = new Trainer(config, data, options(2, b, true, 0)).run();
        assertEquals(2, resumed.epochsCompleted());

        LoadedModel ca = ModelZip.load(dir.resolve("ckpt-a.zip").resolve(Trainer.CHECKPOINT), true);
        LoadedModel cb = ModelZip.load(dir.resolve("ckpt-b.zip").resolve(Trainer.CHECKPOINT), true);
        INDArray pa = ca.graph().params();
        INDArray pb = cb.graph().params();
        assertEquals(0.0, pa.sub(pb).amaxNumber().doubleValue(), 1e-6, "parameters after epoch 2");
        assertEquals(0.0, ca.graph().getUpdater().getStateViewArray().sub(cb.graph().getUpdater().getStateViewArray())
                .amaxNumber().doubleValue(), 1e-6, "optimizer state after epoch 2");
        assertEquals(ca.graph().getIterationCount(), cb.graph().getIterationCount());
        assertEquals(2, cb.graph().getEpochCount());
    }

    @Test
    void classWeightsAutoUseInverseFrequency() {
        TrainingData data = shapes(10, 8);
        Trainer t = new Trainer(smallGray(8), data, new TrainingOptions(1, 8, LearningRateSchedule.Kind.CONSTANT, 0, 1,
                0.1, "auto", Augmentation.NONE, dir.resolve("w.zip"), dir, false, "val_loss", 0, 0, false));
        double[] w = t.classWeights();
        assertEquals(4, w.length);
        for (double v : w) assertEquals(1.0, v, 1e-9, "balanced classes get weight 1");
    }

    @Test
    void scheduleWarmsUpThenDecays() {
        LearningRateSchedule s = new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 0.1, 10, 110, 1, 0.1);
        assertEquals(0.01, s.valueAt(0, 0), 1e-12);
        assertEquals(0.1, s.valueAt(9, 0), 1e-12);
        assertEquals(0.1, s.valueAt(10, 0), 1e-12);
        assertEquals(0.05, s.valueAt(60, 0), 1e-12);
        assertEquals(0.0, s.valueAt(110, 0), 1e-12);
        LearningRateSchedule step = new LearningRateSchedule(LearningRateSchedule.Kind.STEP, 0.1, 0, 100, 30, 0.1);
        assertEquals(0.01, step.valueAt(30, 0), 1e-12);
    }

    @Test
    void batchesAreDeterministic() {
        ImageSet set = SyntheticShapes.inMemory(4, 12, 1);
        PreparedImages p = new PreparedImages(set, new InputShape(12, 12, 1));
        int[] order = Batches.shuffled(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, 5, 2);
        Batches a = new Batches(p, order, 3, 4, null, Augmentation.standard(), 5, 2);
        Batches b = new Batches(p, order, 3, 4, null, Augmentation.standard(), 5, 2);
        int n = 0;
        var it = b.iterator();
        for (DataSet x : a) {
            DataSet y = it.next();
            assertEquals(x.getFeatures(), y.getFeatures());
            assertEquals(x.getLabels(), y.getLabels());
            n++;
        }
        assertEquals(3, n);
    }
}
