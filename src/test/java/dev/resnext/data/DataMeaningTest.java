package dev.resnext.data;

import dev.resnext.ResNeXtException;
import dev.resnext.io.NpyFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 18, class 1 (silent wrong results): what the values of each input kind mean is decided
 * where the data enters ({@link NpzImageSet#load}, {@link LabelsCsv#read}); what cannot be right is
 * refused with the reason, naming the file.
 */
class DataMeaningTest {
    @TempDir
    Path dir;

    private Path npz(String name, INDArray images, INDArray labels) {
        Map<String, INDArray> m = new LinkedHashMap<>();
        m.put("train_images", images);
        m.put("train_labels", labels);
        Path f = dir.resolve(name);
        NpyFiles.writeNpz(f, m);
        return f;
    }

    private static INDArray ramp(DataType type, double max) {
        // 4 images of 2x2, values 0..max spread evenly
        INDArray a = Nd4j.linspace(0, max, 16, DataType.DOUBLE).reshape(4, 2, 2);
        return a.castTo(type);
    }

    private static void refused(Path file, String expected) {
        ResNeXtException e = assertThrows(ResNeXtException.class, () -> NpzImageSet.load(file, "train", null));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
    }

    @Test
    void everyImageTypeEndsInTheSameIntensities() {
        INDArray labels = Nd4j.createFromArray(0, 1, 0, 1);
        float[][] seen = new float[5][];
        seen[0] = NpzImageSet.load(npz("u8.npz", ramp(DataType.UBYTE, 255), labels), "train", null).decode(3).pixels();
        seen[1] = NpzImageSet.load(npz("f01.npz", ramp(DataType.FLOAT, 1), labels), "train", null).decode(3).pixels();
        // 8-bit values stored as float (the case that trained at 0.27 accuracy without a word)
        seen[2] = NpzImageSet.load(npz("f255.npz", ramp(DataType.FLOAT, 255), labels), "train", null).decode(3).pixels();
        seen[3] = NpzImageSet.load(npz("d255.npz", ramp(DataType.DOUBLE, 255), labels), "train", null).decode(3).pixels();
        seen[4] = NpzImageSet.load(npz("i64.npz", ramp(DataType.LONG, 255), labels), "train", null).decode(3).pixels();
        for (float[] px : seen) {
            assertEquals(1.0f, px[3], 1e-6f);
            for (int i = 0; i < px.length; i++) assertEquals(seen[1][i], px[i], 2e-3f);
        }
        DecodedImage sixteen = NpzImageSet.load(npz("i32.npz", ramp(DataType.INT, 65535), labels), "train", null)
                .decode(3);
        assertEquals(16, sixteen.bitDepth());
        assertEquals(1.0f, sixteen.pixels()[3], 1e-6f);
    }

    @Test
    void imageValuesThatCannotBeIntensitiesAreRefused() {
        INDArray labels = Nd4j.createFromArray(0, 1, 0, 1);
        refused(npz("neg.npz", ramp(DataType.FLOAT, 1).subi(0.5), labels), "not negative values");
        refused(npz("big-float.npz", ramp(DataType.FLOAT, 4095), labels), "float image values go up to 4095");
        INDArray nan = ramp(DataType.FLOAT, 1);
        nan.putScalar(new long[]{1, 0, 0}, Float.NaN);
        refused(npz("nan.npz", nan, labels), "NaN or infinite");
        INDArray inf = ramp(DataType.DOUBLE, 1);
        inf.putScalar(new long[]{2, 1, 1}, Double.POSITIVE_INFINITY);
        refused(npz("inf.npz", inf, labels), "NaN or infinite");
        refused(npz("huge-int.npz", ramp(DataType.LONG, 1_000_000), labels), "integer image values go up to");
        refused(npz("zero-size.npz", Nd4j.zeros(DataType.FLOAT, 4, 0, 2), labels), "empty dimension");
    }

    @Test
    void labelsMustBeWholeClassIndicesWithNoClassMissing() {
        INDArray images = ramp(DataType.UBYTE, 255);
        // {0, 255} (a mask value used as a label) gave a 256-class model
        refused(npz("sparse.npz", images, Nd4j.createFromArray(0, 255, 0, 255)), "renumber them");
        refused(npz("gap.npz", images, Nd4j.createFromArray(0, 2, 0, 2)), "[0, 2]");
        refused(npz("fraction.npz", images, Nd4j.createFromArray(0f, 1f, 0.5f, 1f)), "is 0.5");
        refused(npz("nan-label.npz", images, Nd4j.createFromArray(0f, 1f, Float.NaN, 1f)), "is NaN");
        refused(npz("negative.npz", images, Nd4j.createFromArray(0, 1, -1, 1)), "negative class index");
        // whole numbers stored as float are class indices
        NpzImageSet ok = NpzImageSet.load(npz("float-labels.npz", images, Nd4j.createFromArray(0f, 2f, 1f, 2f)),
                "train", null);
        assertEquals(List.of("0", "1", "2"), ok.classNames());
        assertEquals(2, ok.label(3));
    }

    @Test
    void theScalingIsDecidedOnAllSplitsTogether() {
        // train at most 1.0 by chance, val clearly 0..255: both must be read as 0..255
        Map<String, INDArray> m = new LinkedHashMap<>();
        m.put("train_images", ramp(DataType.FLOAT, 1));
        m.put("train_labels", Nd4j.createFromArray(0, 1, 0, 1));
        m.put("val_images", ramp(DataType.FLOAT, 255));
        m.put("val_labels", Nd4j.createFromArray(0, 1, 0, 1));
        Path f = dir.resolve("mixed.npz");
        NpyFiles.writeNpz(f, m);
        assertEquals(1 / 255f, NpzImageSet.load(f, "train", null).decode(3).pixels()[3], 1e-6f);
        assertEquals(1f, NpzImageSet.load(f, "val", null).decode(3).pixels()[3], 1e-6f);
    }

    // ------------------------------------------------------------------------------- labels CSV

    private Path csv(String name, String text) throws IOException {
        Path images = dir.resolve("img");
        Files.createDirectories(images);
        for (String n : List.of("a.png", "b.png", "c,d.png")) {
            if (!Files.exists(images.resolve(n))) {
                javax.imageio.ImageIO.write(SyntheticShapes.draw(0, 8, 1, 0), "png", images.resolve(n).toFile());
            }
        }
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    private void csvRefused(Path file, String expected) {
        ResNeXtException e = assertThrows(ResNeXtException.class, () -> LabelsCsv.read(file, dir.resolve("img"), null));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void aLabelsCsvNamesEachFindingOnceAndEachImageOnce() throws IOException {
        csvRefused(csv("dup-finding.csv", "file,Effusion,Mass,Effusion\na.png,0,1,1\n"),
                "the finding 'Effusion' is named twice");
        csvRefused(csv("dup-image.csv", "file,Effusion\na.png,1\nb.png,0\na.png,0\n"),
                "is listed again (first on line 2)");
        // the same image through another spelling of its path
        csvRefused(csv("dup-path.csv", "file,Effusion\na.png,1\n./a.png,1\n"), "is listed again");
        csvRefused(csv("empty-finding.csv", "file,Effusion,\na.png,1,0\n"), "has no finding name");
        csvRefused(csv("two.csv", "file,Effusion\na.png,2\n"), "must be 0 or 1");
        // a quoted file name may hold a comma
        LabelsCsv ok = LabelsCsv.read(csv("quoted.csv", "file,Effusion,Mass\n\"c,d.png\",1,0\nb.png,0,1\n"),
                dir.resolve("img"), null);
        assertEquals(2, ok.size());
        assertArrayEquals(new int[]{1, 0}, ok.targets(0));
    }
}
