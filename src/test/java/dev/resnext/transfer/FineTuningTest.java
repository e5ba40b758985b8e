package dev.resnext.transfer;

import dev.resnext.runtime.GraphRuntime;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.cli.CliRunner;
import dev.resnext.data.Augmentation;
import dev.resnext.data.Batches;
import dev.resnext.data.ImageSet;
import dev.resnext.data.LabelsCsv;
import dev.resnext.data.Normalization;
import dev.resnext.data.PreparedImages;
import dev.resnext.data.Splits;
import dev.resnext.data.SyntheticShapes;
import dev.resnext.eval.ModelScoring;
import dev.resnext.eval.MultiLabelMetrics;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.model.InputShape;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.model.VertexNames;
import dev.resnext.train.LearningRateSchedule;
import dev.resnext.train.Trainer;
import dev.resnext.train.TrainingData;
import dev.resnext.train.TrainingOptions;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class FineTuningTest {
    @TempDir
    static Path dir;
    static Path parentZip;
    static ResNeXtConfig parentConfig = Presets.small().toBuilder().input(16, 16, 3).numClasses(10).seed(3).build();

    @BeforeAll
    static void parent() {
        Backends.initialize(BackendChoice.CPU);
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(parentConfig));
        // non-trivial BN statistics, so that "kept" is distinguishable from "re-initialised"
        Nd4j.getRandom().setSeed(5);
        g.fit(new org.nd4j.linalg.dataset.DataSet(Nd4j.rand(DataType.FLOAT, 8, 3, 16, 16),
                Nd4j.eye(10).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 8))));
        parentZip = dir.resolve("parent.zip");
        ModelZip.save(parentZip, g, ModelMetadata.create(parentConfig, ModelMetadata.indexLabels(10), null, null,
                null), null, false);
    }

    static TrainingOptions options(Path out, int epochs, Augmentation aug) {
        return new TrainingOptions(epochs, 16, LearningRateSchedule.Kind.CONSTANT, 0, 10, 0.1, "none", aug, out,
                out.resolveSibling(out.getFileName() + ".ckpt"), false, "val_loss", 0, 0, false);
    }

    static TrainingData shapes(int perClass, int size) {
        ImageSet all = SyntheticShapes.inMemory(perClass, size, 9);
        Splits.Split s = Splits.stratified(all.labels(), 0.25, 1);
        return new TrainingData(all.subset(s.train(), "t"), all.subset(s.val(), "v"), SyntheticShapes.CLASSES,
                Map.of());
    }

    @Test
    void frozenLayersStayBitIdenticalWhileTheHeadLearns() {
        LoadedModel parent = ModelZip.load(parentZip);
        ResNeXtConfig child = FineTuning.childConfig(parentConfig, 4, false, 16, 16, 3).toBuilder()
                .learningRate(0.05).build();
        ComputationGraph g = FineTuning.prepare(parent, child, FreezePolicy.parse("stage:2"));
        assertEquals(4, g.getLayer(VertexNames.HEAD_FC).getParam("W").size(1), "head has the data's class count");
        List<String> frozen = FineTuning.frozenLayers(g);
        assertTrue(frozen.contains("stem.conv") && frozen.contains("stem.bn") && frozen.contains("stage2.block0.bn3"),
                frozen.toString());
        assertFalse(frozen.contains("stage3.block0.conv1"), frozen.toString());
        INDArray headBefore = g.getLayer(VertexNames.HEAD_FC).getParam("W").dup();
        INDArray stage3Before = g.getLayer("stage3.block0.conv1").getParam("W").dup();

        Path out = dir.resolve("child.zip");
        new Trainer(child, shapes(8, 16), options(out, 2, Augmentation.standard()), g,
                Normalization.of(new float[] {.3f, .3f, .3f}, new float[] {.2f, .2f, .2f}), Map.of()).run();

        ComputationGraph trained = ModelZip.load(out).graph();
        for (String name : frozen) {
            for (var e : parent.graph().getLayer(name).paramTable().entrySet()) {
                assertEquals(e.getValue(), trained.getLayer(name).getParam(e.getKey()),
                        name + "." + e.getKey() + " must not change");
            }
        }
        assertNotEquals(headBefore, trained.getLayer(VertexNames.HEAD_FC).getParam("W"), "head trained");
        assertNotEquals(stage3Before, trained.getLayer("stage3.block0.conv1").getParam("W"), "stage 3 trained");
    }

    @Test
    void grayscaleStemEqualsTheRgbNetworkOnRepeatedChannels() {
        LoadedModel parent = ModelZip.load(parentZip);
        ResNeXtConfig child = FineTuning.childConfig(parentConfig, 10, false, 16, 16, 1);
        ComputationGraph gray = FineTuning.prepare(parent, child, FreezePolicy.NONE);
        // same head weights as the parent, so that the whole network can be compared
        gray.getLayer(VertexNames.HEAD_FC).setParam("W", parent.graph().getLayer(VertexNames.HEAD_FC).getParam("W"));
        gray.getLayer(VertexNames.HEAD_FC).setParam("b", parent.graph().getLayer(VertexNames.HEAD_FC).getParam("b"));
        Nd4j.getRandom().setSeed(9);
        INDArray g1 = Nd4j.rand(DataType.FLOAT, 2, 1, 16, 16);
        INDArray g3 = Nd4j.concat(1, g1, g1, g1);
        INDArray a = gray.outputSingle(false, g1);
        INDArray b = parent.graph().outputSingle(false, g3);
        assertEquals(0.0, a.sub(b).amaxNumber().doubleValue(), 1e-5);
    }

    @Test
    void featureCacheTrainsTheHeadOnly() {
        LoadedModel parent = ModelZip.load(parentZip);
        ResNeXtConfig child = FineTuning.childConfig(parentConfig, 4, false, 16, 16, 3).toBuilder()
                .learningRate(0.1).build();
        ComputationGraph g = FineTuning.prepare(parent, child, FreezePolicy.BACKBONE);
        Path out = dir.resolve("cached.zip");
        Trainer.Result r = FeatureCache.train(child, shapes(10, 16), options(out, 3, Augmentation.NONE), g,
                Normalization.of(new float[] {.3f, .3f, .3f}, new float[] {.2f, .2f, .2f}), Map.of());
        assertEquals(3, r.epochsCompleted());
        LoadedModel m = ModelZip.load(out);
        assertEquals(SyntheticShapes.CLASSES, m.metadata().labels());
        assertEquals(parent.graph().getLayer("stage3.block0.conv3").getParam("W"),
                m.graph().getLayer("stage3.block0.conv3").getParam("W"));
        assertNotEquals(g.getLayer(VertexNames.HEAD_FC).getParam("W").dup().muli(0),
                m.graph().getLayer(VertexNames.HEAD_FC).getParam("W"));
    }

    @Test
    void multiLabelTaskTrainsAndEvaluates() throws Exception {
        // findings derived from the shape: "round" (circle), "straight" (cross, square, triangle), "corners"
        Path images = dir.resolve("ml");
        SyntheticShapes.writeFolder(images, 10, 16, 4);
        List<String> rows = new ArrayList<>(List.of("file,round,straight,corners"));
        for (String c : SyntheticShapes.CLASSES) {
            try (var s = Files.list(images.resolve(c))) {
                for (Path f : s.sorted().toList()) {
                    rows.add(c + "/" + f.getFileName() + "," + (c.equals("circle") ? 1 : 0) + ","
                            + (c.equals("circle") ? 0 : 1) + "," + (c.equals("square") || c.equals("triangle") ? 1 : 0));
                }
            }
        }
        Path csv = dir.resolve("labels.csv");
        Files.write(csv, rows);
        Path out = dir.resolve("ml-model.zip");
        CliRunner.Result r = CliRunner.run("finetune", "--from", parentZip.toString(), "--data", images.toString(),
                "--labels-csv", csv.toString(), "--epochs", "2", "--batch", "8", "--out", out.toString(),
                "--input", "16x16x1", "--augment", "none");
        assertEquals(0, r.code(), r.err());
        LoadedModel m = ModelZip.load(out);
        assertTrue(m.metadata().config().isMultiLabel());
        assertEquals(List.of("round", "straight", "corners"), m.metadata().labels());
        ImageSet set = LabelsCsv.read(csv, images, m.metadata().labels());
        ModelScoring.Scores s = ModelScoring.predict(m.graph(), Batches.inOrder(new PreparedImages(set,
                new InputShape(16, 16, 1)), 8, 3, m.normalizer()));
        MultiLabelMetrics metrics = s.multiLabelMetrics(m.metadata().labels());
        assertEquals(3, metrics.perLabel().size());
        assertTrue(metrics.auc() > 0 && metrics.auc() <= 1, "mean AUC " + metrics.auc());
        for (double[] p : s.probabilities()) {
            for (double v : p) assertTrue(v >= 0 && v <= 1, "sigmoid outputs");
        }
        CliRunner.Result ev = CliRunner.run("evaluate", "--model", out.toString(), "--data", images.toString(),
                "--labels-csv", csv.toString(), "--json");
        assertEquals(0, ev.code(), ev.err());
        var j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(ev.out());
        assertEquals(metrics.auc(), j.get("auc").asDouble(), 1e-9);
        assertEquals(3, j.get("perLabel").size());
    }

    @Test
    void fineTunedZipWorksWithEvaluatePredictAndExplain() throws Exception {
        // RGB parent, grayscale folder data: the stem is adapted, the head replaced, the backbone frozen
        Path images = dir.resolve("gray-shapes");
        SyntheticShapes.writeFolder(images, 6, 16, 8);
        Path out = dir.resolve("ft/model.zip");
        CliRunner.Result ft = CliRunner.run("finetune", "--from", parentZip.toString(), "--data", images.toString(),
                "--freeze", "backbone", "--epochs", "2", "--batch", "8", "--augment", "none", "--out", out.toString());
        assertEquals(0, ft.code(), ft.err());
        LoadedModel m = ModelZip.load(out);
        assertEquals(1, m.metadata().config().getInputChannels());
        assertEquals(SyntheticShapes.CLASSES, m.metadata().labels());
        assertEquals(parentZip.toString(), m.metadata().provenance().get("parent"));

        CliRunner.Result ev = CliRunner.run("evaluate", "--model", out.toString(), "--data", images.toString(), "--json");
        assertEquals(0, ev.code(), ev.err());
        assertEquals(24, new com.fasterxml.jackson.databind.ObjectMapper().readTree(ev.out()).get("n").asInt());
        CliRunner.Result pr = CliRunner.run("predict", "--model", out.toString(), images.resolve("circle").toString());
        assertEquals(0, pr.code(), pr.err());
        assertEquals(7, pr.out().strip().lines().count());
        Path cams = dir.resolve("cams");
        CliRunner.Result ex = CliRunner.run("explain", "--model", out.toString(),
                images.resolve("cross/0000.png").toString(), "--out", cams.toString());
        assertEquals(0, ex.code(), ex.err());
        assertTrue(Files.exists(cams.resolve("0000.gradcam.png")));
    }

    @Test
    void badFreezeOptionsAreRefused() {
        assertTrue(CliRunner.run("finetune", "--from", parentZip.toString(), "--data", "data/shapes", "--freeze",
                "stage:7").errorLines().contains("only 3 stages"));
        assertTrue(CliRunner.run("finetune", "--from", parentZip.toString(), "--data", "data/shapes", "--freeze",
                "head").errorLines().contains("--freeze must be"));
    }
}
