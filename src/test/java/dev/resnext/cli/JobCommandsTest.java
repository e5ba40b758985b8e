package dev.resnext.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.data.SyntheticShapes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.resnext.cli.CliRunner.assertOneLineError;
import static org.junit.jupiter.api.Assertions.*;

/** train, evaluate and predict end to end through the command line, on a generated image folder. */
class JobCommandsTest {
    @TempDir
    static Path dir;
    static Path data;
    static Path model;

    @BeforeAll
    static void trainOnce() {
        data = dir.resolve("shapes");
        SyntheticShapes.writeFolder(data, 12, 16, 5);
        model = dir.resolve("out/m.zip");
        CliRunner.Result r = CliRunner.run("train", "--data", data.toString(), "--input", "16x16x1", "--epochs", "2",
                "--batch", "16", "--out", model.toString(), "--backend", "cpu", "--val-fraction", "0.25");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(model));
    }

    @Test
    void trainWritesModelCheckpointMetricsAndCurves() throws Exception {
        assertTrue(Files.exists(dir.resolve("out/checkpoints/checkpoint.zip")));
        assertTrue(Files.exists(dir.resolve("out/m.metrics.csv")));
        assertTrue(Files.exists(dir.resolve("out/m.metrics.json")));
        assertTrue(Files.exists(dir.resolve("out/m.curves.png")));
        assertEquals(3, Files.readAllLines(dir.resolve("out/m.metrics.csv")).size(), "header + 2 epochs");
        try (var files = Files.list(dir.resolve("out"))) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary files left");
        }
    }

    @Test
    void evaluateJsonHasTheDocumentedKeys() throws Exception {
        Path out = dir.resolve("eval");
        CliRunner.Result r = CliRunner.run("evaluate", "--model", model.toString(), "--data", data.toString(), "--json",
                "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        for (String key : new String[] {"accuracy", "auc", "balancedAccuracy", "perClass", "confusionMatrix"}) {
            assertTrue(j.has(key), key + " in " + r.out());
        }
        assertEquals(4, j.get("perClass").size());
        assertEquals(48, j.get("n").asInt());
        assertTrue(Files.size(out.resolve("confusion-matrix.png")) > 0);
        assertTrue(Files.size(out.resolve("roc.png")) > 0);
        assertTrue(Files.size(out.resolve("metrics.json")) > 0);
    }

    @Test
    void predictListsEveryImage() throws Exception {
        CliRunner.Result csv = CliRunner.run("predict", "--model", model.toString(), data.resolve("circle").toString(),
                "--top", "2");
        assertEquals(0, csv.code(), csv.err());
        var lines = csv.out().strip().lines().toList();
        assertEquals("file,label,probability,top1,p1,top2,p2", lines.get(0));
        assertEquals(13, lines.size());
        CliRunner.Result json = CliRunner.run("predict", "--model", model.toString(), "--format", "json",
                data.resolve("cross/0000.png").toString());
        assertEquals(0, json.code(), json.err());
        JsonNode j = new ObjectMapper().readTree(json.out());
        assertEquals(1, j.get("predictions").size());
        assertTrue(SyntheticShapes.CLASSES.contains(j.get("predictions").get(0).get("label").asText()));
    }

    @Test
    void badInputGivesOneClearLine() throws Exception {
        Path junk = dir.resolve("junk.zip");
        Files.writeString(junk, "not a zip");
        assertOneLineError(CliRunner.run("evaluate", "--model", junk.toString(), "--data", data.toString()),
                "not a valid model zip");
        assertOneLineError(CliRunner.run("predict", "--model", dir.resolve("missing.zip").toString(),
                data.toString()), "model zip not found");
        assertOneLineError(CliRunner.run("train", "--data", dir.resolve("nowhere").toString()), "data not found");
        assertOneLineError(CliRunner.run("train", "--data", data.toString(), "--epochs", "-1"), "--epochs");
        assertOneLineError(CliRunner.run("train", "--data", data.toString(), "--batch", "0"), "--batch");

        Path single = dir.resolve("single");
        SyntheticShapes.writeFolder(single, 2, 8, 1);
        for (String c : new String[] {"cross", "square", "triangle"}) {
            try (var s = Files.walk(single.resolve(c))) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        assertOneLineError(CliRunner.run("train", "--data", single.toString(), "--input", "8x8x1"), "only one class");

        Path empty = dir.resolve("empty");
        SyntheticShapes.writeFolder(empty, 2, 8, 1);
        Files.createDirectories(empty.resolve("zebra"));
        assertOneLineError(CliRunner.run("train", "--data", empty.toString()), "has no images");

        Path mixed = dir.resolve("mixed");
        SyntheticShapes.writeFolder(mixed, 2, 8, 1);
        Files.writeString(mixed.resolve("circle/notes.txt"), "hello");
        assertOneLineError(CliRunner.run("train", "--data", mixed.toString()), "not an image file");

        Path corrupt = dir.resolve("corrupt");
        SyntheticShapes.writeFolder(corrupt, 2, 8, 1);
        Files.write(corrupt.resolve("circle/0000.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
        assertOneLineError(CliRunner.run("predict", "--model", model.toString(),
                corrupt.resolve("circle/0000.png").toString()), "cannot read image");
    }

}
