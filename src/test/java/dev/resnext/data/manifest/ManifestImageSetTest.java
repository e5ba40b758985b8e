package dev.resnext.data.manifest;

import dev.resnext.data.ImageSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each manifest layout the issue names, quoted fields, uncertain-label policies and every row problem. */
class ManifestImageSetTest {
    @TempDir
    Path root;

    @BeforeEach
    void images() throws IOException {
        for (String n : List.of("a.png", "b.png", "c.png", "d.png", "e, with comma.png", "sub/f.png")) {
            Path p = root.resolve(n);
            Files.createDirectories(p.getParent());
            BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
            img.getRaster().setSample(1, 1, 0, 200);
            ImageIO.write(img, "png", p.toFile());
        }
    }

    private Path csv(String text) throws IOException {
        Path p = root.resolve("m.csv");
        Files.writeString(p, text);
        return p;
    }

    private ManifestSpec single(Path csv, String labelColumn, String group) {
        return new ManifestSpec(csv, root, "file", labelColumn, null, null, null, false, null, group, null, null, false);
    }

    private ManifestSpec multiColumns(Path csv, String image, List<String> cols, UncertainPolicy p) {
        return new ManifestSpec(csv, root, image, null, cols, null, null, false, p, null, null, null, false);
    }

    @Test
    void chestXray14LayoutWithPipeSeparatedFindingsAndItsUnquotedBracketHeader() throws IOException {
        // the header as shipped: commas inside brackets are not quoted, rows end with a comma
        Path m = csv("Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
                + "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\n"
                + "a.png,Cardiomegaly|Emphysema,0,1,58,M,PA,2682,2749,0.143,0.143,\n"
                + "b.png,No Finding,1,1,58,M,PA,2894,2729,0.143,0.143,\n"
                + "c.png,Effusion,0,2,81,F,AP,2500,2048,0.168,0.168,\n"
                + "d.png,\"Effusion|Mass\",0,3,74,F,PA,2500,2048,0.168,0.168,\n");
        ManifestImageSet s = ManifestImageSet.read(new ManifestSpec(m, root, "Image Index", "Finding Labels", null,
                "|", "No Finding", false, null, "Patient ID", null, null, false));
        assertTrue(s.multiLabel());
        assertEquals(List.of("Cardiomegaly", "Effusion", "Emphysema", "Mass"), s.classNames());
        assertArrayEquals(new int[] {1, 0, 1, 0}, s.targets(0));
        assertArrayEquals(new int[] {0, 0, 0, 0}, s.targets(1));
        assertArrayEquals(new int[] {0, 1, 0, 1}, s.targets(3));
        assertEquals("1", s.group(1));
        assertEquals("3", s.group(3));
        assertEquals(8, s.decode(0).width());
        assertFalse(s.hasMasks());
    }

    @Test
    void cheXpertLayoutAndTheThreeUncertainPolicies() throws IOException {
        Path m = csv("Path,Sex,Age,No Finding,Atelectasis,Edema\n"
                + "a.png,Male,60,,1.0,-1.0\n"
                + "b.png,Female,50,1.0,0.0,\n"
                + "c.png,Female,40,,-1.0,1.0\n");
        List<String> cols = List.of("Atelectasis", "Edema");
        ManifestImageSet ones = ManifestImageSet.read(multiColumns(m, "Path", cols, UncertainPolicy.ONES));
        assertArrayEquals(new int[] {1, 1}, ones.targets(0));
        assertArrayEquals(new int[] {0, 0}, ones.targets(1));
        assertArrayEquals(new int[] {1, 1}, ones.targets(2));
        ManifestImageSet zeros = ManifestImageSet.read(multiColumns(m, "Path", cols, UncertainPolicy.ZEROS));
        assertArrayEquals(new int[] {1, 0}, zeros.targets(0));
        assertArrayEquals(new int[] {0, 1}, zeros.targets(2));
        assertFalse(zeros.hasMasks());
        ManifestImageSet ignore = ManifestImageSet.read(multiColumns(m, "Path", cols, UncertainPolicy.IGNORE));
        assertTrue(ignore.hasMasks());
        assertArrayEquals(new float[] {1, 0}, ignore.mask(0));
        assertNull(ignore.mask(1));
        assertArrayEquals(new float[] {0, 1}, ignore.mask(2));
        // masked entries count neither as positives nor negatives
        assertArrayEquals(new int[] {1, 1}, ignore.classCounts());
        ManifestException e = assertThrows(ManifestException.class,
                () -> ManifestImageSet.read(multiColumns(m, "Path", cols, null)));
        assertTrue(e.getMessage().contains("line 2") && e.getMessage().contains("uncertain"), e.getMessage());
    }

    @Test
    void isicOneHotIsSingleLabel() throws IOException {
        Path m = csv("image,MEL,NV,BCC\na.png,1.0,0.0,0.0\nb.png,0.0,1.0,0.0\nc.png,0,0,1\n");
        ManifestImageSet s = ManifestImageSet.read(new ManifestSpec(m, root, "image", null,
                List.of("MEL", "NV", "BCC"), null, null, true, null, null, null, null, false));
        assertFalse(s.multiLabel());
        assertEquals(List.of("MEL", "NV", "BCC"), s.classNames());
        assertArrayEquals(new int[] {0, 1, 2}, s.labels());
        Path bad = csv("image,MEL,NV,BCC\na.png,1.0,0.0,0.0\nb.png,1.0,1.0,0.0\n");
        ManifestException e = assertThrows(ManifestException.class, () -> ManifestImageSet.read(new ManifestSpec(bad,
                root, "image", null, List.of("MEL", "NV", "BCC"), null, null, true, null, null, null, null, false)));
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("exactly one 1"), e.getMessage());
    }

    @Test
    void quotedFieldsWithCommasQuotesAndNewlinesKeepLineNumbersRight() throws IOException {
        Path m = csv("file,diagnosis,patient\n"
                + "\"e, with comma.png\",\"pneumonia, lobar\",\"P \"\"1\"\"\"\n"
                + "a.png,\"normal\nsecond line\",P2\n"
                + "sub/f.png,normal,P3\n"
                + "missing.png,normal,P4\n");
        ManifestException e = assertThrows(ManifestException.class,
                () -> ManifestImageSet.read(single(m, "diagnosis", "patient")));
        // the quoted newline makes the row with missing.png line 6
        assertTrue(e.getMessage().contains("line 6") && e.getMessage().contains("missing.png")
                && e.getMessage().contains("does not exist"), e.getMessage());
        Files.writeString(m, Files.readString(m).replace("missing.png,normal,P4\n", ""));
        ManifestImageSet s = ManifestImageSet.read(single(m, "diagnosis", "patient"));
        assertEquals(List.of("normal", "normal\nsecond line", "pneumonia, lobar"), s.classNames());
        assertEquals("P \"1\"", s.group(0));
        assertTrue(s.path(0).endsWith("e, with comma.png"));
        assertEquals(5, s.line(2));
    }

    @Test
    void officialSplitColumn() throws IOException {
        Path m = csv("file,label,split\na.png,x,train\nb.png,y,train\nc.png,x,valid\nd.png,y,test\n");
        ManifestImageSet s = ManifestImageSet.read(new ManifestSpec(m, root, "file", "label", null, null, null, false,
                null, null, "split", null, false));
        assertEquals(java.util.Set.of("train", "val", "test"), s.splitNames());
        ImageSet val = s.split("validation");
        assertEquals(1, val.size());
        assertTrue(val.describe(0).endsWith("c.png"));
        assertEquals(2, s.split("train").size());
    }

    @Test
    void rowProblemsNameTheFileAndLine() throws IOException {
        Path m = csv("file,label,patient\na.png,x,P1\nb.png,y,\n");
        ManifestException blank = assertThrows(ManifestException.class,
                () -> ManifestImageSet.read(single(m, "label", "patient")));
        assertTrue(blank.getMessage().startsWith(m + " line 3: the group column 'patient' is blank"), blank.getMessage());

        ManifestException unknown = assertThrows(ManifestException.class,
                () -> ManifestImageSet.read(single(m, "Finding", null)));
        assertTrue(unknown.getMessage().contains("no label column 'Finding'")
                && unknown.getMessage().contains("columns: file, label, patient"), unknown.getMessage());

        Path twice = csv("file,label\na.png,x\n./a.png,y\n");
        ManifestException dup = assertThrows(ManifestException.class, () -> ManifestImageSet.read(single(twice, "label", null)));
        assertTrue(dup.getMessage().contains("line 3") && dup.getMessage().contains("listed again"), dup.getMessage());

        Path value = csv("Path,Edema\na.png,2\n");
        ManifestException v = assertThrows(ManifestException.class,
                () -> ManifestImageSet.read(multiColumns(value, "Path", List.of("Edema"), UncertainPolicy.IGNORE)));
        assertTrue(v.getMessage().contains("line 2") && v.getMessage().contains("'2'"), v.getMessage());
    }

    @Test
    void unreadableRowsAreSkippedOnRequest() throws IOException {
        Files.writeString(root.resolve("broken.png"), "not a png");
        Path m = csv("file,label\na.png,x\nbroken.png,x\nnope.png,y\nb.png,y\n");
        ManifestException e = assertThrows(ManifestException.class, () -> ManifestImageSet.read(single(m, "label", null)));
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("broken.png"), e.getMessage());
        ManifestImageSet s = ManifestImageSet.read(new ManifestSpec(m, root, "file", "label", null, null, null, false,
                null, null, null, null, true));
        assertEquals(2, s.size());
        assertEquals(2, s.skipped().size());
    }

    @Test
    void dicomImagesThroughAManifest() throws IOException {
        Path d = root.resolve("scan.dcm");
        try (var in = getClass().getResourceAsStream("/dicom/mono1_12bit_implicit_le.dcm")) {
            Files.copy(in, d);
        }
        Path m = csv("file,label\nscan.dcm,x\na.png,y\n");
        ManifestImageSet s = ManifestImageSet.read(single(m, "label", null));
        assertEquals(16, s.decode(0).width());
        assertEquals(16, s.decode(0).bitDepth());
    }
}
