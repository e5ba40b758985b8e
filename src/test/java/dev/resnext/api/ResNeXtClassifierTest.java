package dev.resnext.api;

import dev.resnext.runtime.GraphRuntime;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.data.Batches;
import dev.resnext.data.ImageSet;
import dev.resnext.data.PreparedImages;
import dev.resnext.data.SyntheticShapes;
import dev.resnext.eval.ModelScoring;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.data.Normalization;
import dev.resnext.model.InputShape;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;

import javax.imageio.ImageIO;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

class ResNeXtClassifierTest {
    @TempDir
    static Path dir;
    static Path zip;
    static ComputationGraph graph;
    static NormalizerStandardize normalizer;
    static ImageSet images = SyntheticShapes.inMemory(6, 16, 3);
    static ResNeXtConfig config = Presets.small().toBuilder().input(16, 16, 1).numClasses(4).build();

    @BeforeAll
    static void saveModel() {
        Backends.initialize(BackendChoice.CPU);
        graph = GraphRuntime.create(ResNeXtGraphFactory.build(config));
        normalizer = Normalization.of(new float[] {0.3f}, new float[] {0.2f});
        zip = dir.resolve("m.zip");
        ModelZip.save(zip, graph, ModelMetadata.create(config, SyntheticShapes.CLASSES, null, null, null),
                normalizer, false);
    }

    @Test
    void restoredZipPredictsLikeTheInMemoryModel() throws Exception {
        PreparedImages p = new PreparedImages(images, new InputShape(16, 16, 1));
        ModelScoring.Scores inMemory = ModelScoring.predict(graph, Batches.inOrder(p, 5, 4, normalizer));
        ResNeXtClassifier clf = ResNeXtClassifier.load(zip);
        for (int i = 0; i < images.size(); i++) {
            Path f = dir.resolve("img" + i + ".png");
            ImageIO.write(SyntheticShapes.draw(images.label(i), 16, 3, i / 4), "png", f.toFile());
            Prediction pred = clf.classify(f);
            assertArrayEquals(inMemory.probabilities()[i], pred.probabilities(), 1e-6, "image " + i);
        }
        assertEquals(SyntheticShapes.CLASSES, clf.labels());
    }

    @Test
    void bf16InferenceStaysCloseToFloat32() {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                dev.resnext.runtime.inference.InferencePlan.bf16Supported(), "this CPU has no native bf16");
        ResNeXtClassifier fp32 = ResNeXtClassifier.load(zip);
        ResNeXtClassifier bf16 = ResNeXtClassifier.load(zip, dev.resnext.runtime.inference.InferencePlan.Precision.BF16);
        for (int i = 0; i < images.size(); i++) {
            var img = SyntheticShapes.draw(images.label(i), 16, 3, i / 4);
            assertArrayEquals(fp32.classify(img).probabilities(), bf16.classify(img).probabilities(), 0.05, "image " + i);
        }
    }

    @Test
    void manyThreadsGetTheSameAnswersAsOne() throws Exception {
        ResNeXtClassifier clf = ResNeXtClassifier.load(zip);
        List<double[]> expected = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            expected.add(clf.classify(SyntheticShapes.draw(images.label(i), 16, 3, i / 4)).probabilities());
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit(() -> {
                    for (int rep = 0; rep < 2; rep++) {
                        for (int i = 0; i < images.size(); i++) {
                            double[] got = clf.classify(SyntheticShapes.draw(images.label(i), 16, 3, i / 4))
                                    .probabilities();
                            for (int k = 0; k < got.length; k++) {
                                if (Math.abs(got[k] - expected.get(i)[k]) > 1e-6) return false;
                            }
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> f : results) assertTrue(f.get());
        } finally {
            pool.shutdownNow();
        }
    }

    /** Input arrays are reused per batch size: batches of every size, in any order, answer as one by one. */
    @Test
    void batchesOfEverySizeAnswerAsOneByOne() {
        ResNeXtClassifier clf = ResNeXtClassifier.load(zip);
        List<float[]> prepared = new ArrayList<>();
        List<double[]> single = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            float[] x = clf.prepare(dev.resnext.data.ImageDecoder.fromBufferedImage(
                    SyntheticShapes.draw(images.label(i), 16, 3, i / 4)));
            prepared.add(x);
            single.add(clf.classifyPrepared(List.of(x)).get(0).probabilities());
        }
        for (int n : new int[] {3, 7, 2, 5, 6, 4, 3, 7, 1}) { // more sizes than arrays are kept (7 > 6)
            for (int from = 0; from + n <= prepared.size(); from += n) {
                List<Prediction> got = clf.classifyPrepared(prepared.subList(from, from + n));
                for (int k = 0; k < n; k++) {
                    assertArrayEquals(single.get(from + k), got.get(k).probabilities(), 1e-6, "batch of " + n);
                }
            }
        }
        var e = assertThrows(IllegalArgumentException.class, () -> clf.classifyPrepared(List.of(new float[5])));
        assertTrue(e.getMessage().contains("256"), e.getMessage());
    }

    @Test
    void describesItsDecisionRule() {
        var d = ResNeXtClassifier.load(zip).describeDecision();
        assertEquals("arg-max", d.get("rule"));
        assertFalse(d.containsKey("thresholds"), d.toString());
        assertEquals(false, d.get("calibrated"));
        assertNotNull(d.get("source"));
    }

    @Test
    void arrayInputIsCheckedAgainstTheModel() {
        ResNeXtClassifier clf = ResNeXtClassifier.load(zip);
        var e = assertThrows(dev.resnext.ResNeXtException.class,
                () -> clf.classify(org.nd4j.linalg.factory.Nd4j.zeros(2, 3, 16, 16)));
        assertTrue(e.getMessage().contains("[N, 1, 16, 16]"), e.getMessage());
        assertEquals(2, clf.classify(org.nd4j.linalg.factory.Nd4j.zeros(2, 1, 16, 16)).size());
    }
}
