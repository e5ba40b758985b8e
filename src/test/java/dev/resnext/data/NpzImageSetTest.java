package dev.resnext.data;

import dev.resnext.ResNeXtException;
import dev.resnext.io.NpyFiles;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lazy .npz splits: multi-label [N, L] labels, the extracted cache path, and sets beyond 2^31 values. */
class NpzImageSetTest {
    @TempDir
    Path dir;

    private Path npz(String name, Map<String, INDArray> arrays) {
        Path f = dir.resolve(name);
        NpyFiles.writeNpz(f, arrays);
        return f;
    }

    private static INDArray images(int n, int h, int w) {
        INDArray a = Nd4j.create(DataType.UBYTE, n, h, w);
        for (int i = 0; i < n; i++) a.putScalar(new long[] {i, 1, 2}, (i * 7) % 256);
        return a;
    }

    @Test
    void multiLabelLabelsAreAccepted() {
        INDArray labels = Nd4j.createFromArray(new int[][] {{1, 0, 1}, {0, 0, 0}, {0, 1, 0}, {1, 1, 1}})
                .castTo(DataType.UBYTE);
        Map<String, INDArray> m = new LinkedHashMap<>();
        m.put("train_images", images(4, 5, 6));
        m.put("train_labels", labels);
        m.put("val_images", images(2, 5, 6));
        m.put("val_labels", Nd4j.createFromArray(new int[][] {{1, 0, 0}, {0, 1, 1}}).castTo(DataType.UBYTE));
        Path f = npz("chest.npz", m);
        NpzImageSet s = NpzImageSet.load(f, "train", null);
        assertTrue(s.multiLabel());
        assertEquals(List.of("0", "1", "2"), s.classNames());
        assertArrayEquals(new int[] {1, 0, 1}, s.targets(0));
        assertArrayEquals(new int[] {1, 1, 1}, s.targets(3));
        assertArrayEquals(new int[] {2, 2, 2}, s.classCounts());
        assertEquals(7 / 255f, s.decode(1).pixels()[1 * 6 + 2], 1e-6);

        m.put("train_labels", Nd4j.createFromArray(new int[][] {{1, 0, 2}, {0, 0, 0}, {0, 1, 0}, {1, 1, 1}}));
        ResNeXtException e = assertThrows(ResNeXtException.class,
                () -> NpzImageSet.load(npz("bad.npz", m), "train", null));
        assertTrue(e.getMessage().contains("train_labels [0, 2] is 2"), e.getMessage());
    }

    @Test
    void largeSplitsAreReadFromAnExtractedCacheFileAndGiveTheSameImages() {
        Map<String, INDArray> m = new LinkedHashMap<>();
        m.put("train_images", images(50, 8, 8));
        m.put("train_labels", Nd4j.createFromArray(new int[50]).addi(Nd4j.createFromArray(new int[50]).addi(1)
                .muli(Nd4j.linspace(0, 49, 50, DataType.INT).fmod(2))));
        Path f = npz("big.npz", m);
        NpzImageSet inMemory = NpzImageSet.load(f, "train", null);
        java.util.Properties props = new java.util.Properties();
        props.setProperty("resnext.npzInMemoryBytes", "100");
        props.setProperty("resnext.cacheDir", dir.resolve("cache").toString());
        try (dev.resnext.RuntimeSettings.Override o = dev.resnext.RuntimeSettings.override(
                dev.resnext.RuntimeSettings.from(props))) {
            NpzImageSet cached = NpzImageSet.load(f, "train", null);
            for (int i : new int[] {0, 1, 37, 49}) {
                assertArrayEquals(inMemory.decode(i).pixels(), cached.decode(i).pixels());
            }
            assertTrue(Files.exists(dir.resolve("cache/npz")));
            // the second open reuses the extraction
            assertArrayEquals(inMemory.decode(49).pixels(), NpzImageSet.load(f, "train", null).decode(49).pixels());
        }
    }

    /**
     * Writes an .npz of {@code n} uint8 images of {@code side} x {@code side}, each zero except its
     * first two pixels, which hold its index (so any image can be identified); deflated, so a set of
     * billions of values is a small file.
     */
    static void writeLargeNpz(Path file, int n, int side) throws IOException {
        try (ZipOutputStream zip = new ZipOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 20))) {
            zip.setLevel(Deflater.BEST_SPEED);
            zip.putNextEntry(new ZipEntry("train_images.npy"));
            writeNpyHeader(zip, "|u1", "(" + n + ", " + side + ", " + side + ")");
            byte[] img = new byte[side * side];
            for (int i = 0; i < n; i++) {
                img[0] = (byte) (i & 0xFF);
                img[1] = (byte) ((i >> 8) & 0xFF);
                zip.write(img);
            }
            zip.closeEntry();
            zip.putNextEntry(new ZipEntry("train_labels.npy"));
            writeNpyHeader(zip, "|u1", "(" + n + ", 1)");
            byte[] labels = new byte[n];
            for (int i = 0; i < n; i++) labels[i] = (byte) (i % 2);
            zip.write(labels);
            zip.closeEntry();
        }
    }

    private static void writeNpyHeader(OutputStream out, String dtype, String shape) throws IOException {
        String h = "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int total = 10 + h.length() + 1;
        int pad = (64 - total % 64) % 64;
        h = h + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0)
                .putShort((short) h.length());
        out.write(b.array());
        out.write(h.getBytes(StandardCharsets.US_ASCII));
    }

    /** 33,000 images of 256 x 256: 2.16e9 values, past 2^31; the last images must be the right ones. */
    @Test
    @Tag("slow")
    void moreThanTwoToThe31Values() throws IOException {
        Path f = dir.resolve("huge.npz");
        int n = 33_000;
        writeLargeNpz(f, n, 256);
        java.util.Properties props = new java.util.Properties();
        props.setProperty("resnext.cacheDir", dir.resolve("cache").toString());
        try (dev.resnext.RuntimeSettings.Override o = dev.resnext.RuntimeSettings.override(
                dev.resnext.RuntimeSettings.from(props))) {
            NpzImageSet s = NpzImageSet.load(f, "train", null);
            assertEquals(n, s.size());
            for (int i : new int[] {0, 32_768, n - 1}) {
                float[] px = s.decode(i).pixels();
                assertEquals(i, Math.round(px[0] * 255) + 256 * Math.round(px[1] * 255), "image " + i);
            }
        }
    }
}
