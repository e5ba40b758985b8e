package dev.resnext.cli;

import dev.resnext.runtime.GraphRuntime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.data.SyntheticShapes;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.resnext.cli.CliRunner.assertOneLineError;
import static org.junit.jupiter.api.Assertions.*;

/** {@code resnext explain} through the command line on a tiny trained model. */
class ExplainCommandTest {
    @TempDir
    static Path dir;
    static Path data;
    static Path model;

    @BeforeAll
    static void trainOnce() {
        data = dir.resolve("shapes");
        SyntheticShapes.writeFolder(data, 12, 16, 5);
        model = dir.resolve("out/m.zip");
        CliRunner.Result r = CliRunner.run("train", "--data", data.toString(), "--input", "16x16x1", "--epochs", "1",
                "--batch", "16", "--out", model.toString(), "--backend", "cpu", "--val-fraction", "0.25");
        assertEquals(0, r.code(), r.err());
    }

    private static BufferedImage read(Path p) throws Exception {
        BufferedImage img = ImageIO.read(p.toFile());
        assertNotNull(img, p.toString());
        return img;
    }

    @Test
    void writesOnePngPerInputAtTheOriginalSize() throws Exception {
        // an RGB image of another size and aspect than the model's 16x16x1 input
        Path wide = dir.resolve("inputs/wide.png");
        Files.createDirectories(wide.getParent());
        BufferedImage rgb = new BufferedImage(40, 24, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = rgb.createGraphics();
        g.drawImage(SyntheticShapes.draw(0, 16, 9, 0), 0, 0, 40, 24, null);
        g.dispose();
        ImageIO.write(rgb, "png", wide.toFile());
        List<Path> inputs = List.of(data.resolve("circle/0000.png"), data.resolve("cross/0001.png"),
                data.resolve("triangle/0002.png"), wide);
        Path out = dir.resolve("cams");
        String[] args = {"explain", "--model", model.toString(), "--out", out.toString(), inputs.get(0).toString(),
                inputs.get(1).toString(), inputs.get(2).toString(), inputs.get(3).toString()};
        CliRunner.Result r = CliRunner.run(args);
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().strip().lines().toList();
        assertEquals("file,class,probability,output", lines.get(0));
        assertEquals(5, lines.size(), r.out());
        String[] names = {"0000", "0001", "0002", "wide"};
        for (int i = 0; i < 4; i++) {
            Path png = out.resolve(names[i] + ".gradcam.png");
            String[] cells = lines.get(i + 1).split(",");
            assertEquals(inputs.get(i).toString(), cells[0]);
            assertTrue(SyntheticShapes.CLASSES.contains(cells[1]), lines.get(i + 1));
            double p = Double.parseDouble(cells[2]);
            assertTrue(p > 0 && p <= 1, lines.get(i + 1));
            assertEquals(png.toString(), cells[3]);
            BufferedImage overlay = read(png);
            BufferedImage original = read(inputs.get(i));
            assertEquals(original.getWidth(), overlay.getWidth());
            assertEquals(original.getHeight(), overlay.getHeight());
        }
        try (var files = Files.list(out)) {
            assertEquals(4, files.count(), "one PNG per input and nothing else");
        }
    }

    @Test
    void chosenClassByNameOrIndexAndJson() throws Exception {
        Path out = dir.resolve("cams-class");
        Path img = data.resolve("square/0003.png");
        CliRunner.Result byName = CliRunner.run("explain", "--model", model.toString(), "--out", out.toString(),
                "--class", "cross", "--alpha", "0.3", "--json", img.toString());
        assertEquals(0, byName.code(), byName.err());
        JsonNode j = new ObjectMapper().readTree(byName.out());
        assertEquals("stage3.block0.out", j.get("layer").asText());
        JsonNode row = j.get("heatmaps").get(0);
        assertEquals("cross", row.get("class").asText());
        assertEquals(1, row.get("classIndex").asInt());
        assertEquals(List.of(4, 4), List.of(row.get("mapSize").get(0).asInt(), row.get("mapSize").get(1).asInt()));
        assertEquals(out.resolve("0003.gradcam.png").toString(), row.get("output").asText());
        assertTrue(Files.exists(out.resolve("0003.gradcam.png")));

        CliRunner.Result byIndex = CliRunner.run("explain", "--model", model.toString(), "--out", out.toString(),
                "--class", "1", "--json", img.toString());
        assertEquals(0, byIndex.code(), byIndex.err());
        JsonNode row2 = new ObjectMapper().readTree(byIndex.out()).get("heatmaps").get(0);
        assertEquals("cross", row2.get("class").asText());
        assertEquals(row.get("probability").asDouble(), row2.get("probability").asDouble(), 1e-9);
    }

    @Test
    void acceptsAModelWhoseLastStageIsOnePixel() throws Exception {
        ResNeXtConfig c = Presets.small().toBuilder().input(4, 4, 1).numClasses(2).build();
        Path small = dir.resolve("one-pixel.zip");
        ModelZip.save(small, GraphRuntime.create(ResNeXtGraphFactory.build(c)), ModelMetadata.create(c, List.of("no", "yes"), Map.of(),
                Map.of(), Map.of()), null, false);
        Path out = dir.resolve("cams-small");
        CliRunner.Result r = CliRunner.run("explain", "--model", small.toString(), "--out", out.toString(), "--json",
                data.resolve("circle/0004.png").toString());
        assertEquals(0, r.code(), r.err());
        JsonNode row = new ObjectMapper().readTree(r.out()).get("heatmaps").get(0);
        assertEquals(1, row.get("mapSize").get(0).asInt());
        assertEquals(1, row.get("mapSize").get(1).asInt());
        BufferedImage overlay = read(out.resolve("0004.gradcam.png"));
        assertEquals(16, overlay.getWidth());
        assertEquals(16, overlay.getHeight());
    }

    @Test
    void badInputGivesOneClearLineAndNoFiles() throws Exception {
        Path out = dir.resolve("cams-bad");
        String good = data.resolve("circle/0005.png").toString();
        String m = model.toString();
        Path corrupt = dir.resolve("corrupt.png");
        Files.write(corrupt, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});

        assertOneLineError(CliRunner.run("explain", "--model", m, "--out", out.toString(), good,
                dir.resolve("missing.png").toString()), "no such file");
        assertOneLineError(CliRunner.run("explain", "--model", m, "--out", out.toString(), good,
                corrupt.toString()), "cannot read image");
        assertOneLineError(CliRunner.run("explain", "--model", m, "--out", out.toString(), "--class", "zebra",
                good), "unknown class 'zebra'");
        assertOneLineError(CliRunner.run("explain", "--model", m, "--out", out.toString(), "--class", "4",
                good), "class index 4 is out of range");
        assertOneLineError(CliRunner.run("explain", "--model", m, "--out", out.toString(), "--class", "-1",
                good), "class index -1 is out of range");
        assertOneLineError(CliRunner.run("explain", "--model", m, good), "--out");
        assertOneLineError(CliRunner.run("explain", "--model", m, "--out", out.toString(), "--alpha", "2", good),
                "--alpha");
        assertOneLineError(CliRunner.run("explain", "--model", dir.resolve("nope.zip").toString(), "--out",
                out.toString(), good), "model zip not found");
        assertOneLineError(CliRunner.run("explain", "--model", m, "--out", out.toString(), good,
                data.resolve("cross/0005.png").toString()), "would both be written");
        assertFalse(Files.exists(out) && Files.list(out).findAny().isPresent(), "no files written");
    }

    @Test
    void helpListsTheCommandAndItsOptions() {
        CliRunner.Result top = CliRunner.run("--help");
        assertEquals(0, top.code(), top.err());
        assertTrue(top.out().contains("explain"), top.out());
        CliRunner.Result help = CliRunner.run("explain", "--help");
        assertEquals(0, help.code(), help.err());
        for (String option : new String[] {"--model", "--out", "--class", "--alpha", "--json", "Grad-CAM"}) {
            assertTrue(help.out().contains(option), option + " in " + help.out());
        }
        CliRunner.Result evaluate = CliRunner.run("evaluate", "--help");
        assertTrue(evaluate.out().contains("--choose-threshold"), evaluate.out());
        assertTrue(evaluate.out().contains("--threshold-split"), evaluate.out());
    }

}
