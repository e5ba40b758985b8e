package dev.resnext.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static dev.resnext.cli.CliRunner.assertOneLineError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * train with manifests, patient groups, K-fold cross-validation and DICOM folders, end to end; and
 * the bad inputs of issue 13, each one line naming the file/row/option, with nothing written.
 */
class MedicalDataCommandTest {
    @TempDir
    static Path dir;
    static Path images;
    static Path manifest;
    static final int PATIENTS = 24;

    /** A ChestX-ray14-style manifest: 24 patients with 2-4 images each; findings by a bright blob / band. */
    @BeforeAll
    static void generate() throws IOException {
        images = dir.resolve("images");
        Files.createDirectories(images);
        Random rng = new Random(5);
        StringBuilder csv = new StringBuilder("Image Index,Finding Labels,Follow-up #,Patient ID,"
                + "OriginalImage[Width,Height]\n");
        for (int p = 0; p < PATIENTS; p++) {
            String finding = switch (p % 4) {
                case 0 -> "No Finding";
                case 1 -> "Nodule";
                case 2 -> "Effusion";
                default -> "Effusion|Nodule";
            };
            int n = 2 + rng.nextInt(3);
            for (int k = 0; k < n; k++) {
                String name = String.format("%08d_%03d.png", p, k);
                BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_GRAY);
                for (int y = 0; y < 16; y++) {
                    for (int x = 0; x < 16; x++) {
                        int v = 40 + rng.nextInt(30);
                        if (finding.contains("Nodule") && Math.hypot(x - 5, y - 5) < 3) v = 220;
                        if (finding.contains("Effusion") && y > 12) v = 200;
                        img.getRaster().setSample(x, y, 0, v);
                    }
                }
                ImageIO.write(img, "png", images.resolve(name).toFile());
                csv.append(name).append(',').append(finding.contains("|") ? "\"" + finding + "\"" : finding)
                        .append(',').append(k).append(',').append(p).append(",16,16\n");
            }
        }
        manifest = dir.resolve("Data_Entry.csv");
        Files.writeString(manifest, csv);
    }

    private static String[] train(Path out, String... extra) {
        String[] base = {"train", "--manifest", manifest.toString(), "--image-root", images.toString(),
                "--image-column", "Image Index", "--label-column", "Finding Labels", "--labels-separator", "|",
                "--input", "16x16x1", "--epochs", "1", "--batch", "16", "--augment", "none", "--backend", "cpu",
                "--out", out.toString()};
        String[] all = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    @Test
    void patientLevelFiveFoldCrossValidation() throws IOException {
        Path out = dir.resolve("cv/model.zip");
        CliRunner.Result r = CliRunner.run(train(out, "--group-column", "Patient ID", "--folds", "3"));
        assertEquals(0, r.code(), r.err());
        JsonNode cv = new ObjectMapper().readTree(dir.resolve("cv/model.cv.json").toFile());
        assertEquals(3, cv.get("perFold").size());
        assertEquals("group (patient)", cv.get("split").get("by").asText());
        int groups = 0;
        int imagesSeen = 0;
        for (JsonNode f : cv.get("perFold")) {
            groups += f.get("valGroups").asInt();
            imagesSeen += f.get("valImages").asInt();
            assertTrue(Files.exists(Path.of(f.get("model").asText())));
        }
        // every patient is validated exactly once: the folds partition the patients
        assertEquals(PATIENTS, groups);
        assertEquals(cv.get("split").get("images").asInt(), imagesSeen);
        assertTrue(cv.get("mean").size() > 0 && cv.get("sd").size() > 0, cv.toString());
        assertTrue(Files.exists(dir.resolve("cv/model.cv.csv")));
        assertTrue(Files.exists(dir.resolve("cv/model.cv.png")));
        String csv = Files.readString(dir.resolve("cv/model.cv.csv"));
        assertTrue(csv.contains("\nmean,") && csv.contains("\nsd,"), csv);

        // a resumed cross-validation with every fold finished trains nothing again and reports the same folds
        CliRunner.Result again = CliRunner.run(train(out, "--group-column", "Patient ID", "--folds", "3", "--resume"));
        assertEquals(0, again.code(), again.err());
        assertEquals(3, new ObjectMapper().readTree(dir.resolve("cv/model.cv.json").toFile()).get("perFold").size());
    }

    @Test
    void patientLevelHoldOutIsRecorded() throws IOException {
        Path out = dir.resolve("single/model.zip");
        CliRunner.Result r = CliRunner.run(train(out, "--group-column", "Patient ID", "--val-fraction", "0.25"));
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(out));
    }

    @Test
    void officialSplitColumnIsUsedAndItsTestRowsStayOut() throws IOException {
        // every fourth patient is 'test', every fourth 'validation', the rest 'train'
        StringBuilder csv = new StringBuilder();
        for (String line : Files.readAllLines(manifest)) {
            if (csv.length() == 0) {
                csv.append(line).append(",split\n");
                continue;
            }
            int patient = Integer.parseInt(line.split(",")[3]); // no quoted field holds a comma here
            csv.append(line).append(',').append(patient % 4 == 0 ? "test" : patient % 4 == 1 ? "validation" : "train")
                    .append('\n');
        }
        Path m = dir.resolve("split.csv");
        Files.writeString(m, csv);
        Path out = dir.resolve("split/model.zip");
        CliRunner.Result r = CliRunner.run("train", "--manifest", m.toString(), "--image-root", images.toString(),
                "--image-column", "Image Index", "--label-column", "Finding Labels", "--labels-separator", "|",
                "--split-column", "split", "--input", "16x16x1", "--epochs", "1", "--batch", "16", "--augment", "none",
                "--backend", "cpu", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        // the data description recorded in the zip names the official splits
        String recorded = zipText(out);
        assertTrue(recorded.contains("split.csv split val") && recorded.contains("split.csv split train"), recorded);
        assertFalse(recorded.contains("split test"), "test rows are not used");
    }

    @Test
    void dicomFolderTrains() throws IOException {
        Path data = dir.resolve("dicom");
        String[] fixtures = {"mono2_8bit_explicit_le.dcm", "mono1_12bit_implicit_le.dcm", "mono2_16bit_explicit_be.dcm",
                "signed_rescale_window.dcm", "multiframe_3.dcm", "mono2_8bit_deflated.dcm", "rgb_8bit.dcm"};
        for (int c = 0; c < 2; c++) {
            Path cls = data.resolve(c == 0 ? "normal" : "pneumonia");
            Files.createDirectories(cls);
            for (int k = 0; k < 4; k++) {
                copy(fixtures[(c * 4 + k) % fixtures.length], cls.resolve("im" + k + ".dcm"));
            }
        }
        CliRunner.Result r = CliRunner.run("train", "--data", data.toString(), "--input", "16x16x1", "--epochs", "1",
                "--batch", "4", "--backend", "cpu", "--val-fraction", "0.25", "--window", "none",
                "--out", dir.resolve("dcm/model.zip").toString());
        assertEquals(0, r.code(), r.err());
        // predict reads DICOM too (the same decoder serves every command and the Java API)
        CliRunner.Result p = CliRunner.run("predict", "--model", dir.resolve("dcm/model.zip").toString(),
                data.resolve("normal/im0.dcm").toString(), "--window", "none");
        assertEquals(0, p.code(), p.err());
        assertTrue(p.out().contains("im0.dcm"), p.out());

        // a compressed file among them: one line naming the file and the syntax; --skip-unreadable skips it
        copy("jpeg2000.dcm", data.resolve("pneumonia/compressed.dcm"));
        Path out = dir.resolve("dcm2/model.zip");
        assertOneLineError(CliRunner.run("train", "--data", data.toString(), "--input", "16x16x1", "--epochs", "1",
                "--backend", "cpu", "--out", out.toString()), "compressed.dcm: compressed transfer syntax JPEG 2000");
        assertFalse(Files.exists(out.getParent()));
        CliRunner.Result skipped = CliRunner.run("train", "--data", data.toString(), "--input", "16x16x1", "--epochs",
                "1", "--batch", "4", "--backend", "cpu", "--val-fraction", "0.25", "--skip-unreadable",
                "--out", out.toString());
        assertEquals(0, skipped.code(), skipped.err());
        assertTrue(skipped.out().contains("compressed.dcm"), skipped.out());
        Files.delete(data.resolve("pneumonia/compressed.dcm"));

        copy("no_pixel_data.dcm", data.resolve("normal/report.dcm"));
        assertOneLineError(CliRunner.run("train", "--data", data.toString(), "--backend", "cpu",
                "--out", dir.resolve("dcm3/model.zip").toString()), "report.dcm: no pixel data");
        Files.delete(data.resolve("normal/report.dcm"));
        Files.writeString(data.resolve("normal/notes.dcm"), "not dicom at all");
        assertOneLineError(CliRunner.run("train", "--data", data.toString(), "--backend", "cpu",
                "--out", dir.resolve("dcm3/model.zip").toString()), "notes.dcm: not a DICOM file");
        Files.delete(data.resolve("normal/notes.dcm"));
        assertOneLineError(CliRunner.run("train", "--data", data.toString(), "--backend", "cpu", "--window", "40",
                "--out", dir.resolve("dcm3/model.zip").toString()), "--window");
        assertFalse(Files.exists(dir.resolve("dcm3")));
    }

    private static String zipText(Path zip) throws IOException {
        StringBuilder sb = new StringBuilder();
        try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(zip.toFile())) {
            for (var e : java.util.Collections.list(z.entries())) {
                if (e.getName().endsWith(".json")) {
                    sb.append(new String(z.getInputStream(e).readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
                }
            }
        }
        return sb.toString();
    }

    private static void copy(String fixture, Path to) throws IOException {
        try (InputStream in = MedicalDataCommandTest.class.getResourceAsStream("/dicom/" + fixture)) {
            Files.copy(in, to);
        }
    }

    @Test
    void badManifestInputsEndInOneLineAndWriteNothing() throws IOException {
        Path out = dir.resolve("bad/model.zip");
        Set<String> seen = new HashSet<>();
        // K larger than the smallest class's number of patients (6 patients have no finding)
        assertOneLineError(CliRunner.run(train(out, "--group-column", "Patient ID", "--folds", "7")),
                "has only 6; lower --folds");
        // unknown label column
        assertOneLineError(CliRunner.run("train", "--manifest", manifest.toString(), "--image-root", images.toString(),
                "--label-column", "Findings", "--out", out.toString()), "no label column 'Findings'");
        // a row whose file is missing
        Path m2 = dir.resolve("missing.csv");
        Files.writeString(m2, Files.readString(manifest) + "gone.png,Nodule,0,99,16,16\n");
        assertOneLineError(CliRunner.run("train", "--manifest", m2.toString(), "--image-root", images.toString(),
                "--label-column", "Finding Labels", "--labels-separator", "|", "--out", out.toString()),
                "line " + (Files.readString(manifest).lines().count() + 1) + ": image ");
        // a group column with blanks
        Path m3 = dir.resolve("blank.csv");
        Files.writeString(m3, Files.readString(manifest).replaceFirst("\n(00000000_000.png,No Finding,0),0,",
                "\n$1,,"));
        assertOneLineError(CliRunner.run("train", "--manifest", m3.toString(), "--image-root", images.toString(),
                "--label-column", "Finding Labels", "--labels-separator", "|", "--group-column", "Patient ID",
                "--out", out.toString()), "line 2: the group column 'Patient ID' is blank");
        // uncertain labels without a policy
        Path m4 = dir.resolve("chexpert.csv");
        Files.writeString(m4, "Path,Edema,Nodule\n00000000_000.png,-1.0,1.0\n00000001_000.png,0.0,\n");
        assertOneLineError(CliRunner.run("train", "--manifest", m4.toString(), "--image-root", images.toString(),
                "--label-columns", "Edema,Nodule", "--out", out.toString()), "--uncertain");
        // options that need a manifest, and contradictory ones
        assertOneLineError(CliRunner.run("train", "--group-column", "x", "--out", out.toString()), "need --manifest");
        assertOneLineError(CliRunner.run("train", "--manifest", manifest.toString(), "--out", out.toString()),
                "--label-column");
        assertFalse(Files.exists(out.getParent()), "nothing written");
        seen.add("done");
    }
}
