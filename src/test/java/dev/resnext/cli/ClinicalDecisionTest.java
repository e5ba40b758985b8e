package dev.resnext.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.api.Prediction;
import dev.resnext.api.ResNeXtClassifier;
import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.data.Normalization;
import dev.resnext.data.SyntheticShapes;
import dev.resnext.eval.TestTimeAugmentation;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.runtime.GraphRuntime;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static dev.resnext.cli.CliRunner.assertOneLineError;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 14: calibration and operating points written into the zip and applied by evaluate, predict and
 * the Java API; intervals; model comparison; test-time augmentation. Untrained networks keep it fast:
 * the decisions under test do not depend on how good the model is.
 */
class ClinicalDecisionTest {
    @TempDir
    static Path dir;
    static Path val;
    static Path test;
    static Path binary;
    static Path multiLabel;
    static List<Path> images;
    static final ObjectMapper JSON = new ObjectMapper();

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

    private static Path save(String name, ResNeXtConfig c, List<String> labels) {
        Path zip = dir.resolve(name);
        ModelZip.save(zip, GraphRuntime.create(ResNeXtGraphFactory.build(c)), ModelMetadata.create(c, labels, null,
                null, null), Normalization.of(new float[] {0.3f}, new float[] {0.2f}), false);
        return zip;
    }

    @BeforeAll
    static void models() throws Exception {
        Backends.initialize(BackendChoice.CPU);
        val = binaryFolder("val", 12, 6);
        test = binaryFolder("test", 12, 7);
        ResNeXtConfig c = Presets.small().toBuilder().input(16, 16, 1).numClasses(2).seed(3).build();
        binary = save("binary.zip", c, List.of("circle", "square"));
        multiLabel = save("multi.zip", c.toBuilder().numClasses(3).multiLabel(true).build(),
                List.of("Effusion", "Mass", "Nodule"));
        try (Stream<Path> s = Files.walk(test)) {
            images = s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    private static JsonNode json(CliRunner.Result r) throws Exception {
        assertEquals(0, r.code(), r.err());
        return JSON.readTree(r.out());
    }

    /** A copy of {@code zip} whose stored operating point is {@code thresholds}. */
    private static Path withThresholds(Path zip, String name, double... thresholds) {
        LoadedModel m = ModelZip.load(zip);
        List<Double> t = new ArrayList<>();
        for (double v : thresholds) t.add(v);
        Path out = dir.resolve(name);
        ModelZip.save(out, m.graph(), m.metadata().withDecision(null, new ModelMetadata.OperatingPoint("fixed", t,
                null, 0, null, null, false, null)), m.normalizer(), false);
        return out;
    }

    @Test
    void calibrateWritesTemperatureAndOperatingPointThatEvaluateAndTheApiApply() throws Exception {
        Path calibrated = dir.resolve("calibrated.zip");
        JsonNode c = json(CliRunner.run("calibrate", "--model", binary.toString(), "--data", val.toString(),
                "--out", calibrated.toString(), "--json", "--backend", "cpu"));
        assertTrue(c.get("nllAfter").asDouble() <= c.get("nllBefore").asDouble() + 1e-12);
        assertNull(ModelZip.readMetadata(binary).calibration(), "--out leaves the original alone");
        ModelMetadata meta = ModelZip.readMetadata(calibrated);
        assertEquals(1, meta.calibration().temperatures().size());
        assertEquals(c.get("temperatures").get(0).asDouble(), meta.calibration().temperatures().get(0), 1e-12);
        assertEquals("youden", meta.operatingPoint().rule());
        assertTrue(meta.operatingPoint().calibrated());
        double stored = meta.operatingPoint().thresholds().get(0);

        Path out = dir.resolve("eval");
        JsonNode e = json(CliRunner.run("evaluate", "--model", calibrated.toString(), "--data", test.toString(),
                "--bootstrap", "200", "--seed", "9", "--json", "--out", out.toString(), "--backend", "cpu"));
        assertEquals(stored, e.get("threshold").asDouble(), 1e-12);
        assertTrue(e.get("operatingPoint").get("method").asText().startsWith("stored youden"));
        JsonNode auc = e.get("intervals").get("metrics").get("auc");
        assertTrue(auc.get("lower").asDouble() <= auc.get("estimate").asDouble()
                && auc.get("estimate").asDouble() <= auc.get("upper").asDouble(), auc.toString());
        for (String k : List.of("accuracy", "balancedAccuracy", "square.sensitivity", "square.specificity",
                "square.ppv", "square.npv", "square.f1", "macro.f1")) {
            assertTrue(e.get("intervals").get("metrics").has(k), k);
        }
        assertTrue(e.get("calibration").get("ece").isNumber());
        assertTrue(e.get("calibration").get("brier").isNumber());
        for (String f : List.of("metrics.json", "intervals.csv", "reliability.png", "roc.png")) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        assertTrue(Files.readString(out.resolve("intervals.csv")).startsWith("metric,estimate,lower,upper"));
        JsonNode again = json(CliRunner.run("evaluate", "--model", calibrated.toString(), "--data", test.toString(),
                "--bootstrap", "200", "--seed", "9", "--json", "--backend", "cpu"));
        assertEquals(e.get("intervals"), again.get("intervals"), "same seed, same intervals");

        ResNeXtClassifier clf = ResNeXtClassifier.load(calibrated);
        assertTrue(clf.calibrated());
        assertArrayEquals(new double[] {stored}, clf.thresholds(), 0);
        assertEquals(stored, clf.classify(images.get(0)).threshold(), 0);
        var decision = clf.describeDecision();
        assertEquals("class square when its probability > threshold", decision.get("rule"));
        assertArrayEquals(new double[] {stored}, (double[]) decision.get("thresholds"), 0);
        assertEquals(true, decision.get("calibrated"));
    }

    @Test
    void evaluateSavesTheThresholdItChoseOnValidationData() throws Exception {
        Path copy = dir.resolve("to-save.zip");
        Files.copy(binary, copy);
        JsonNode e = json(CliRunner.run("evaluate", "--model", copy.toString(), "--data", test.toString(),
                "--threshold-data", val.toString(), "--choose-threshold", "sensitivity:0.9", "--save",
                "--bootstrap", "0", "--json", "--backend", "cpu"));
        ModelMetadata.OperatingPoint op = ModelZip.readMetadata(copy).operatingPoint();
        assertEquals("sensitivity:0.9", op.rule());
        assertEquals(e.get("threshold").asDouble(), op.thresholds().get(0), 1e-12);
        assertTrue(op.sensitivity().get(0) >= 0.9);
        assertTrue(op.data().contains("val"));
    }

    @Test
    void storedThresholdRoundTripsAndChangesPredictsAnswerAndOverrideWins() throws Exception {
        Path low = withThresholds(binary, "low.zip", 1e-6);
        Path high = withThresholds(binary, "high.zip", 1 - 1e-6);
        assertEquals(List.of(1e-6), ModelZip.readMetadata(low).operatingPoint().thresholds());
        JsonNode lowP = json(CliRunner.run("predict", "--model", low.toString(), "--format", "json", "--backend", "cpu",
                test.toString()));
        JsonNode highP = json(CliRunner.run("predict", "--model", high.toString(), "--format", "json", "--backend",
                "cpu", test.toString()));
        for (JsonNode row : lowP.get("predictions")) assertEquals("square", row.get("label").asText());
        for (JsonNode row : highP.get("predictions")) assertEquals("circle", row.get("label").asText());
        assertTrue(highP.get("decision").get("source").asText().contains("stored"));
        JsonNode overridden = json(CliRunner.run("predict", "--model", high.toString(), "--format", "json",
                "--threshold", "0.000001", "--backend", "cpu", test.toString()));
        for (JsonNode row : overridden.get("predictions")) assertEquals("square", row.get("label").asText());
        assertEquals("given by the caller", overridden.get("decision").get("source").asText());

        ResNeXtClassifier api = ResNeXtClassifier.load(high);
        assertEquals("circle", api.classify(images.get(0)).label());
        assertEquals("square", api.withThresholds(1e-6).classify(images.get(0)).label());
        // without a stored point the old arg-max answer is unchanged
        Prediction argmax = ResNeXtClassifier.load(binary).classify(images.get(0));
        assertEquals(argmax.probabilities()[1] > argmax.probabilities()[0] ? "square" : "circle", argmax.label());
    }

    @Test
    void multiLabelPredictListsTheFindingsAboveTheirThresholds() throws Exception {
        double[] p = ResNeXtClassifier.load(multiLabel).classify(images.get(0)).probabilities();
        // Effusion and Nodule just under their probability (present), Mass just above (absent)
        Path zip = withThresholds(multiLabel, "multi-op.zip", p[0] - 1e-4, Math.min(1 - 1e-9, p[1] + 1e-4),
                p[2] - 1e-4);
        Prediction r = ResNeXtClassifier.load(zip).classify(images.get(0));
        assertEquals(List.of("Effusion", "Nodule"), r.findings().stream().map(Prediction.Scored::label).sorted().toList());
        JsonNode j = json(CliRunner.run("predict", "--model", zip.toString(), "--format", "json", "--backend", "cpu",
                images.get(0).toString()));
        JsonNode findings = j.get("predictions").get(0).get("findings");
        assertEquals(2, findings.size());
        for (JsonNode f : findings) {
            assertTrue(f.get("probability").asDouble() > 0);
            assertNotEquals("Mass", f.get("label").asText());
        }
        CliRunner.Result csv = CliRunner.run("predict", "--model", zip.toString(), "--backend", "cpu",
                images.get(0).toString());
        assertEquals(0, csv.code(), csv.err());
        assertTrue(csv.out().lines().findFirst().orElseThrow().contains("findings"));
        // one threshold for every finding
        JsonNode none = json(CliRunner.run("predict", "--model", zip.toString(), "--format", "json", "--threshold",
                "0.999999", "--backend", "cpu", images.get(0).toString()));
        assertEquals(0, none.get("predictions").get(0).get("findings").size());
    }

    @Test
    void identityTtaEqualsNoTtaAndFlipAveragesTheMirrorImage() {
        ResNeXtClassifier clf = ResNeXtClassifier.load(binary);
        Prediction plain = clf.classify(images.get(0));
        Prediction identity = clf.withTta(TestTimeAugmentation.parse("none")).classify(images.get(0));
        assertArrayEquals(plain.probabilities(), identity.probabilities(), 0);
        Prediction flipped = clf.withTta(TestTimeAugmentation.parse("flip,shift")).classify(images.get(0));
        assertEquals(1.0, flipped.probabilities()[0] + flipped.probabilities()[1], 1e-5);
    }

    @Test
    void predictClassifiesEveryImageOfAnNpzSplit() throws Exception {
        java.util.Map<String, org.nd4j.linalg.api.ndarray.INDArray> m = new java.util.LinkedHashMap<>();
        m.put("test_images", org.nd4j.linalg.factory.Nd4j.rand(new long[] {5, 16, 16}).muli(255)
                .castTo(org.nd4j.linalg.api.buffer.DataType.UBYTE));
        m.put("test_labels", org.nd4j.linalg.factory.Nd4j.createFromArray(0, 1, 0, 1, 1));
        Path npz = dir.resolve("scans.npz");
        dev.resnext.io.NpyFiles.writeNpz(npz, m);
        JsonNode j = json(CliRunner.run("predict", "--model", binary.toString(), "--format", "json", "--backend",
                "cpu", npz.toString(), "--split", "test"));
        assertEquals(5, j.get("predictions").size());
        assertEquals(npz + "#test/4", j.get("predictions").get(4).get("file").asText());
    }

    @Test
    void aZipWrittenBeforeOperatingPointsLoadsAndDecidesByArgMax() {
        Path v2 = Path.of("src/test/resources/format/v2/model.zip");
        ModelMetadata m = ModelZip.readMetadata(v2);
        assertNull(m.calibration());
        assertNull(m.operatingPoint());
        ResNeXtClassifier clf = ResNeXtClassifier.load(v2);
        assertNull(clf.thresholds());
        assertFalse(clf.calibrated());
    }

    @Test
    void compareReportsPairedBootstrapAndDeLong() throws Exception {
        Path other = save("other.zip", Presets.small().toBuilder().input(16, 16, 1).numClasses(2).seed(99).build(),
                List.of("circle", "square"));
        JsonNode r = json(CliRunner.run("evaluate", "--compare", binary.toString(), other.toString(), "--data",
                test.toString(), "--bootstrap", "100", "--json", "--backend", "cpu"));
        double p = r.get("delong").get("p").asDouble();
        assertTrue(p >= 0 && p <= 1);
        assertTrue(r.get("pairedBootstrap").get("metrics").has("auc"));
        Path report = binary.resolveSibling("compare-report");
        CliRunner.Result text = CliRunner.run("evaluate", "--compare", binary.toString(), binary.toString(), "--data",
                test.toString(), "--bootstrap", "50", "--backend", "cpu", "--out", report.toString());
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("DeLong"), text.out());
        // --out keeps the comparison as JSON; identical models differ by nothing
        JsonNode saved = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                report.resolve("comparison.json").toFile());
        assertEquals(0.0, saved.get("delong").get("difference").asDouble(), 1e-12);
        assertTrue(saved.get("pairedBootstrap").get("metrics").has("auc"));
    }

    @Test
    void badRequestsEndInOneLine() {
        assertOneLineError(CliRunner.run("evaluate", "--data", test.toString()), "--compare");
        assertOneLineError(CliRunner.run("evaluate", "--model", binary.toString(), "--data", test.toString(),
                "--bootstrap", "-1"), "--bootstrap");
        assertOneLineError(CliRunner.run("evaluate", "--model", binary.toString(), "--data", test.toString(),
                "--tta", "rotate", "--backend", "cpu"), "--tta");
        assertOneLineError(CliRunner.run("evaluate", "--model", binary.toString(), "--data", test.toString(),
                "--save"), "--save");
        assertOneLineError(CliRunner.run("predict", "--model", binary.toString(), "--threshold", "1.5", "--backend",
                "cpu", test.toString()), "between 0 and 1");
        assertOneLineError(CliRunner.run("calibrate", "--model", binary.toString(), "--data", val.toString(),
                "--choose-threshold", "best"), "youden");
    }
}
