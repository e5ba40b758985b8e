package dev.resnext.cli;

import dev.resnext.runtime.GraphRuntime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.data.Batches;
import dev.resnext.data.DataSources;
import dev.resnext.data.ImageSet;
import dev.resnext.data.PreparedImages;
import dev.resnext.data.SyntheticShapes;
import dev.resnext.eval.ModelScoring;
import dev.resnext.eval.Thresholds;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.model.InputShape;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static dev.resnext.cli.CliRunner.assertOneLineError;
import static org.junit.jupiter.api.Assertions.*;

/** {@code evaluate --choose-threshold}: an operating point chosen on validation data, reported on test data. */
class EvaluateOperatingPointTest {
    @TempDir
    static Path dir;
    static Path train;
    static Path val;
    static Path test;
    static Path model;

    /** Two shape classes (circle = 0, square = 1 = positive). */
    private static Path binaryFolder(String name, int perClass, long seed) throws Exception {
        Path p = dir.resolve(name);
        SyntheticShapes.writeFolder(p, perClass, 16, seed);
        for (String c : new String[] {"cross", "triangle"}) {
            try (var s = Files.walk(p.resolve(c))) {
                s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
        return p;
    }

    @BeforeAll
    static void trainOnce() throws Exception {
        train = binaryFolder("train", 12, 5);
        val = binaryFolder("val", 10, 6);
        test = binaryFolder("test", 10, 7);
        model = dir.resolve("out/binary.zip");
        CliRunner.Result r = CliRunner.run("train", "--data", train.toString(), "--input", "16x16x1", "--epochs", "1",
                "--batch", "8", "--out", model.toString(), "--backend", "cpu", "--val-fraction", "0.25");
        assertEquals(0, r.code(), r.err());
    }

    /** Scores a folder exactly as evaluate does. */
    private static ModelScoring.Scores score(Path folder) {
        LoadedModel m = ModelZip.load(model);
        ResNeXtConfig c = m.metadata().config();
        ImageSet set = DataSources.open(folder, null, m.metadata().labels(), false);
        PreparedImages images = new PreparedImages(set, new InputShape(c.getInputHeight(), c.getInputWidth(),
                c.getInputChannels()));
        return ModelScoring.predict(m.graph(), Batches.inOrder(images, 64, c.getNumClasses(), m.normalizer()));
    }

    private static double[] positiveScores(ModelScoring.Scores s) {
        double[] out = new double[s.labels().length];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.probabilities()[i][1];
        }
        return out;
    }

    private static boolean[] positives(ModelScoring.Scores s) {
        boolean[] out = new boolean[s.labels().length];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.labels()[i] == 1;
        }
        return out;
    }

    private static void assertRate(double expected, JsonNode actual) {
        if (Double.isNaN(expected)) {
            assertTrue(actual.isNull(), actual.toString());
        } else {
            assertEquals(expected, actual.asDouble(), 1e-12);
        }
    }

    @Test
    void youdenThresholdIsChosenOnValidationAndAppliedToTest() throws Exception {
        CliRunner.Result r = CliRunner.run("evaluate", "--model", model.toString(), "--data", test.toString(),
                "--choose-threshold", "youden", "--threshold-data", val.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        JsonNode op = j.get("operatingPoint");
        assertNotNull(op, r.out());
        assertEquals("youden", op.get("method").asText());
        assertEquals("square", op.get("positiveClass").asText());

        ModelScoring.Scores v = score(val);
        Thresholds.OperatingPoint expected = Thresholds.youden(v.probabilities(), v.labels());
        double threshold = op.get("threshold").asDouble();
        assertEquals(expected.threshold(), threshold, 1e-12);
        assertEquals(threshold, j.get("threshold").asDouble(), 0.0, "the metrics use the chosen threshold");
        assertRate(expected.sensitivity(), op.get("validation").get("sensitivity"));
        assertRate(expected.specificity(), op.get("validation").get("specificity"));
        assertEquals(20, op.get("validation").get("n").asInt());

        ModelScoring.Scores t = score(test);
        Thresholds.OperatingPoint onTest = Thresholds.evaluate(positiveScores(t), positives(t), threshold);
        assertRate(onTest.sensitivity(), op.get("test").get("sensitivity"));
        assertRate(onTest.specificity(), op.get("test").get("specificity"));
        assertEquals(20, op.get("test").get("n").asInt());
    }

    @Test
    void sensitivityTargetInTextAndFixedThresholdInJson() throws Exception {
        CliRunner.Result text = CliRunner.run("evaluate", "--model", model.toString(), "--data", test.toString(),
                "--choose-threshold", "sensitivity:0.90", "--threshold-data", val.toString());
        assertEquals(0, text.code(), text.err());
        ModelScoring.Scores v = score(val);
        Thresholds.OperatingPoint expected = Thresholds.forSensitivity(v.probabilities(), v.labels(), 0.9);
        assertTrue(expected.sensitivity() >= 0.9);
        assertTrue(text.out().contains("operating point (sensitivity:0.9, chosen on "), text.out());
        assertTrue(text.out().contains("class square when its probability > " + expected.threshold()), text.out());
        assertTrue(text.out().lines().anyMatch(l -> l.startsWith("sensitivity") && l.contains(String.format(java.util.Locale.ROOT, "%.4f", expected.sensitivity()))), text.out());

        CliRunner.Result fixed = CliRunner.run("evaluate", "--model", model.toString(), "--data", test.toString(),
                "--threshold", "0.3", "--threshold-data", val.toString(), "--json");
        assertEquals(0, fixed.code(), fixed.err());
        JsonNode op = new ObjectMapper().readTree(fixed.out()).get("operatingPoint");
        assertEquals("fixed", op.get("method").asText());
        assertEquals(0.3, op.get("threshold").asDouble(), 0.0);
        Thresholds.OperatingPoint onVal = Thresholds.evaluate(positiveScores(v), positives(v), 0.3);
        assertRate(onVal.sensitivity(), op.get("validation").get("sensitivity"));
        ModelScoring.Scores t = score(test);
        assertRate(Thresholds.evaluate(positiveScores(t), positives(t), 0.3).specificity(),
                op.get("test").get("specificity"));
    }

    @Test
    void refusesMultiClassModelsAndBadOptions() throws Exception {
        ResNeXtConfig c = Presets.small().toBuilder().input(16, 16, 1).numClasses(4).build();
        Path multi = dir.resolve("multi.zip");
        ModelZip.save(multi, GraphRuntime.create(ResNeXtGraphFactory.build(c)), ModelMetadata.create(c, SyntheticShapes.CLASSES, Map.of(),
                Map.of(), Map.of()), null, false);
        assertOneLineError(CliRunner.run("evaluate", "--model", multi.toString(), "--data", test.toString(),
                "--choose-threshold", "youden", "--threshold-data", val.toString()), "needs a binary model");
        assertOneLineError(CliRunner.run("evaluate", "--model", model.toString(), "--data", test.toString(),
                "--choose-threshold", "sensitivity:1.5", "--threshold-data", val.toString()), "--choose-threshold");
        assertOneLineError(CliRunner.run("evaluate", "--model", model.toString(), "--data", test.toString(),
                "--choose-threshold", "youden"), "--threshold-data");
        assertOneLineError(CliRunner.run("evaluate", "--model", model.toString(), "--data", test.toString(),
                "--choose-threshold", "youden", "--threshold", "0.4", "--threshold-data", val.toString()),
                "not both");
        assertOneLineError(CliRunner.run("evaluate", "--model", model.toString(), "--data", test.toString(),
                "--choose-threshold", "youden", "--threshold-data", dir.resolve("nowhere").toString()),
                "data not found");
    }

}
