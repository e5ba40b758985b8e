package dev.resnext.io;

import dev.resnext.ResNeXtException;
import org.junit.jupiter.api.BeforeAll;
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

class NpyFilesTest {

    @BeforeAll
    static void backend() {
        ParityFixtures.initBackend();
    }

    @Test
    void roundTripKeepsTypeShapeValuesAndOrder(@TempDir Path dir) {
        Map<String, INDArray> arrays = new LinkedHashMap<>();
        arrays.put("z.f32", Nd4j.arange(24).castTo(DataType.FLOAT).divi(7).reshape(2, 3, 4));
        arrays.put("a.f64", Nd4j.createFromArray(new double[] {1.5, -2.25, 1e-300}));
        arrays.put("scalar", Nd4j.scalar(DataType.FLOAT, 3.5f));
        arrays.put("count", Nd4j.scalar(DataType.LONG, 7L));
        arrays.put("ints", Nd4j.createFromArray(1, 2, 3).reshape(3, 1));
        arrays.put("empty", Nd4j.create(DataType.FLOAT, 0, 5));
        Path npz = dir.resolve("a.npz");
        NpyFiles.writeNpz(npz, arrays);
        Map<String, INDArray> back = NpyFiles.readNpz(npz);
        assertEquals(List.copyOf(arrays.keySet()), List.copyOf(back.keySet()));
        for (String k : arrays.keySet()) {
            assertEquals(arrays.get(k).dataType(), back.get(k).dataType(), k);
            assertArrayEquals(arrays.get(k).shape(), back.get(k).shape(), k);
            assertEquals(arrays.get(k), back.get(k), k);
        }
        assertEquals(0, back.get("scalar").rank());
        assertEquals(7L, back.get("count").getLong(0));
        Map<String, NpyFiles.Header> headers = NpyFiles.readNpzHeaders(npz);
        assertEquals("<f4", headers.get("z.f32").dtype());
        assertArrayEquals(new long[0], headers.get("scalar").shape());

        Path npy = dir.resolve("x.npy");
        INDArray view = arrays.get("z.f32").get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.point(1), org.nd4j.linalg.indexing.NDArrayIndex.all());
        NpyFiles.writeNpy(npy, view);
        assertEquals(view, NpyFiles.readNpy(npy));
        // data starts on a 64-byte boundary, as NumPy writes it
        assertEquals(0, (fileSize(npy) - 2 * 4 * 4) % 64);
    }

    @Test
    void readsNumpyFortranOrderBigEndianAndHalf(@TempDir Path dir) throws IOException {
        // hand-written headers, as NumPy would write them
        Path f = dir.resolve("f.npy");
        Files.write(f, npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                floatsLE(0, 3, 1, 4, 2, 5)));
        assertEquals(Nd4j.createFromArray(new float[][] {{0, 1, 2}, {3, 4, 5}}), NpyFiles.readNpy(f));

        Path be = dir.resolve("be.npy");
        Files.write(be, npy("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
                new byte[] {0, 0, 1, 0, -1, -1, -1, -2}));
        assertEquals(Nd4j.createFromArray(256, -2), NpyFiles.readNpy(be));

        Path h = dir.resolve("h.npy");
        // 1.0 = 0x3c00, -2.0 = 0xc000 (little-endian)
        Files.write(h, npy("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }",
                new byte[] {0x00, 0x3c, 0x00, (byte) 0xc0}));
        assertEquals(Nd4j.createFromArray(1f, -2f), NpyFiles.readNpy(h).castTo(DataType.FLOAT));
    }

    @Test
    void badFilesAreReportedInOneLine(@TempDir Path dir) throws IOException {
        Path notNpy = dir.resolve("bad.npy");
        Files.writeString(notNpy, "hello");
        assertMessage(() -> NpyFiles.readNpy(notNpy), "not a NumPy .npy array");

        Path truncated = dir.resolve("trunc.npy");
        Files.write(truncated, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", floatsLE(1, 2)));
        assertMessage(() -> NpyFiles.readNpy(truncated), "truncated");

        Path objects = dir.resolve("obj.npy");
        Files.write(objects, npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", new byte[8]));
        assertMessage(() -> NpyFiles.readNpy(objects), "unsupported element type");

        Path notZip = dir.resolve("bad.npz");
        Files.writeString(notZip, "not a zip");
        assertMessage(() -> NpyFiles.readNpz(notZip), "not a valid .npz");
        assertMessage(() -> NpyFiles.readNpzHeaders(dir.resolve("none.npz")), "no such file");

        // torch.save writes a zip as well
        Path pth = dir.resolve("model.pth");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(pth))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("model/data.pkl"));
            zip.write(new byte[] {(byte) 0x80, 2});
            zip.closeEntry();
        }
        assertMessage(() -> NpyFiles.readNpzHeaders(pth), "PyTorch checkpoint");
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable ex, String fragment) {
        ResNeXtException e = assertThrows(ResNeXtException.class, ex);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    private static long fileSize(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static byte[] floatsLE(float... v) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * v.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    private static byte[] npy(String header, byte[] data) {
        String h = header + "\n";
        byte[] hb = h.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        byte[] out = new byte[10 + hb.length + data.length];
        byte[] magic = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) (hb.length & 0xff), (byte) (hb.length >> 8)};
        System.arraycopy(magic, 0, out, 0, 10);
        System.arraycopy(hb, 0, out, 10, hb.length);
        System.arraycopy(data, 0, out, 10 + hb.length, data.length);
        return out;
    }
}
