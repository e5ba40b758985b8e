package dev.resnext.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.*;

class InfoCommandTest {

    static CliRunner.Result run(String... args) {
        return CliRunner.run(args);
    }

    @Test
    void jsonHasTheDocumentedKeys() throws Exception {
        CliRunner.Result r = run("info", "--model", "resnext50_32x4d", "--json", "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("resnext50_32x4d", j.get("model").asText());
        assertEquals(25_028_904, j.get("trainableParams").asLong());
        assertEquals(68_224, j.get("bnRunningStats").asLong());
        assertEquals(512, j.get("splitVertices").asInt());
        assertEquals(16, j.get("mergeVertices").asInt());
        assertEquals(1199, j.get("vertices").asInt());
        assertEquals("CPU", j.get("backend").asText());
        assertEquals(7, j.get("stageShapes").get("stage4.block2.out").get(2).asInt());
    }

    @Test
    void overridesApply() throws Exception {
        CliRunner.Result r = run("info", "--model", "resnext29_8x64d", "--classes", "100", "--input", "64x64x1", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(100, j.get("classes").asInt());
        assertEquals(16, j.get("stageShapes").get("stage3.block2.out").get(1).asInt());
    }

    @Test
    void textSummaryMentionsBackend() {
        CliRunner.Result r = run("info", "--model", "small");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("trainable parameters"));
        assertTrue(r.out().contains("backend CPU"));
    }

    @Test
    void badInputGivesOneLineErrors() {
        CliRunner.Result unknown = run("info", "--model", "resnet50");
        assertEquals(Main.EXIT_USAGE, unknown.code());
        assertTrue(unknown.err().startsWith("error: unknown model preset 'resnet50'"), unknown.err());
        assertEquals(1, unknown.err().strip().lines().count(), unknown.err());

        CliRunner.Result classes = run("info", "--model", "small", "--classes", "0");
        assertNotEquals(0, classes.code());
        assertTrue(classes.err().contains("numClasses"), classes.err());

        CliRunner.Result input = run("info", "--input", "abc");
        assertNotEquals(0, input.code());
        assertTrue(input.err().contains("HxWxC"), input.err());

        CliRunner.Result option = run("info", "--modle", "small");
        assertEquals(Main.EXIT_USAGE, option.code());
        assertTrue(option.err().startsWith("error: Unknown option"), option.err());

        CliRunner.Result cuda = run("info", "--backend", "cuda");
        assertNotEquals(0, cuda.code());
        assertTrue(cuda.err().startsWith("error: --backend cuda"), cuda.err());

        CliRunner.Result config = run("info", "--config", "/nonexistent/model.json");
        assertEquals(Main.EXIT_INPUT, config.code());
        assertTrue(config.err().contains("no such file"), config.err());
    }
}
