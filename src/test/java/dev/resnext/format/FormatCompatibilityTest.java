package dev.resnext.format;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.api.Prediction;
import dev.resnext.api.ResNeXtClassifier;
import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.io.NpyFiles;
import dev.resnext.model.StockForm;
import dev.resnext.runtime.GraphOutputs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Users' files keep working: a zip of each format, written by the code of its time and committed
 * under src/test/resources/format (v1: before the runtime door; v2: stock DL4J classes), loads
 * and gives the outputs recorded when it was written; a re-saved zip is in the current format.
 * (As Tribuo does with its model files.) docs/model-format.md tells how the files were made.
 */
class FormatCompatibilityTest {

    @TempDir
    Path dir;

    @BeforeAll
    static void backend() {
        Backends.initialize(BackendChoice.CPU);
    }

    static Path resource(String name) {
        try {
            return Path.of(FormatCompatibilityTest.class.getResource("/format/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new AssertionError("test resource format/" + name + " missing", e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"v1", "v2"})
    void committedZipLoadsAndGivesItsRecordedLogits(String version) {
        LoadedModel m = ModelZip.load(resource(version + "/model.zip"));
        assertEquals(version.equals("v1") ? ModelMetadata.FORMAT_1 : ModelMetadata.FORMAT, m.formatRead());
        INDArray expected = NpyFiles.readNpy(resource(version + "/logits.npy"));
        INDArray actual = GraphOutputs.logits(m.graph(), NpyFiles.readNpy(resource(version + "/input.npy")), 8);
        assertClose(expected, actual, "logits of the " + version + " zip");
    }

    @ParameterizedTest
    @ValueSource(strings = {"v1", "v2"})
    void committedZipPredictsItsRecordedProbabilities(String version) throws Exception {
        ResNeXtClassifier clf = ResNeXtClassifier.load(resource(version + "/model.zip"));
        JsonNode recorded = new ObjectMapper().readTree(resource(version + "/predict.json").toFile());
        int checked = 0;
        for (JsonNode p : recorded.get("predictions")) {
            Prediction now = clf.classify(Path.of(p.get("file").asText()));
            assertEquals(p.get("label").asText(), now.label(), p.get("file").asText());
            for (JsonNode t : p.get("top")) {
                int k = clf.labels().indexOf(t.get("label").asText());
                assertEquals(t.get("probability").asDouble(), now.probabilities()[k], 1e-4,
                        p.get("file").asText() + " " + t.get("label").asText());
                checked++;
            }
        }
        assertTrue(checked >= 8, "recorded probabilities: " + checked);
    }

    @ParameterizedTest
    @ValueSource(strings = {"v1", "v2"})
    void resavedZipIsCurrentFormatWithOnlyDl4jClassesAndSameOutputs(String version) throws Exception {
        LoadedModel m = ModelZip.load(resource(version + "/model.zip"));
        Path again = dir.resolve("again.zip");
        ModelZip.save(again, m.graph(), m.metadata(), m.normalizer(), false);
        assertEquals(ModelMetadata.FORMAT, ModelZip.readMetadata(again).format());
        try (ZipFile zip = new ZipFile(again.toFile())) {
            String json = new String(zip.getInputStream(zip.getEntry("configuration.json")).readAllBytes(),
                    StandardCharsets.UTF_8);
            assertTrue(StockForm.foreignClasses(json).isEmpty(), "foreign classes: " + StockForm.foreignClasses(json));
            assertTrue(json.contains("org.deeplearning4j.nn.conf.graph.SubsetVertex"), "channel split as SubsetVertex");
        }
        INDArray input = NpyFiles.readNpy(resource(version + "/input.npy"));
        INDArray before = GraphOutputs.logits(m.graph(), input, 8);
        INDArray after = GraphOutputs.logits(ModelZip.load(again).graph(), input, 8);
        assertEquals(0.0, before.sub(after).amaxNumber().doubleValue(), 0.0, "re-saved zip: same logits");
    }

    static void assertClose(INDArray expected, INDArray actual, String what) {
        assertEquals(expected.length(), actual.length(), what);
        double scale = Math.max(1.0, expected.amaxNumber().doubleValue());
        double diff = expected.castTo(actual.dataType()).sub(actual).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-4 * scale, what + ": max difference " + diff + " at scale " + scale);
    }
}
