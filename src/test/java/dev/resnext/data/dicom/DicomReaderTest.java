package dev.resnext.data.dicom;

import dev.resnext.data.DecodedImage;
import dev.resnext.data.ImageDecoder;
import dev.resnext.data.ImageTooLargeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reader against files written by pydicom ({@code scripts/make-dicom-fixtures.py}); expected
 * values are recomputed from the formulas that script used.
 */
class DicomReaderTest {
    private static final int ROWS = 12;
    private static final int COLS = 16;
    private static final int N = ROWS * COLS;

    @TempDir
    Path tmp;

    @AfterEach
    void resetWindow() {
        DicomReader.setDefaultWindow(DicomWindow.FROM_FILE);
        ImageDecoder.setMaxPixels(ImageDecoder.DEFAULT_MAX_PIXELS);
    }

    private Path fixture(String name) throws IOException {
        Path p = tmp.resolve(name);
        try (InputStream in = getClass().getResourceAsStream("/dicom/" + name)) {
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        }
        return p;
    }

    private static long ramp(int i, long max) {
        return (long) i * max / (N - 1);
    }

    @Test
    void eightBitMonochrome2ExplicitLittleEndian() throws IOException {
        DecodedImage img = ImageDecoder.read(fixture("mono2_8bit_explicit_le.dcm"));
        assertEquals(ROWS, img.height());
        assertEquals(COLS, img.width());
        assertEquals(1, img.channels());
        assertEquals(8, img.bitDepth());
        for (int i : new int[] {0, 1, 100, N - 1}) {
            assertEquals(ramp(i, 255) / 255f, img.pixels()[i], 1e-6, "pixel " + i);
        }
    }

    @Test
    void deflatedEqualsUncompressed() throws IOException {
        DecodedImage a = ImageDecoder.read(fixture("mono2_8bit_explicit_le.dcm"));
        DecodedImage b = ImageDecoder.read(fixture("mono2_8bit_deflated.dcm"));
        assertTrue(java.util.Arrays.equals(a.pixels(), b.pixels()));
    }

    @Test
    void twelveBitMonochrome1IsInvertedAndMaskedToBitsStored() throws IOException {
        DecodedImage img = ImageDecoder.read(fixture("mono1_12bit_implicit_le.dcm"));
        assertEquals(16, img.bitDepth());
        for (int i : new int[] {0, 1, 57, N - 1}) {
            // the high nibble of every sample is set in the file and must be ignored
            assertEquals(1 - ramp(i, 4095) / 4095.0, img.pixels()[i], 1e-6, "pixel " + i);
        }
        // full depth kept: neighbouring 12-bit levels stay distinct
        assertTrue(img.pixels()[0] != img.pixels()[1]);
    }

    @Test
    void sixteenBitExplicitBigEndian() throws IOException {
        DecodedImage img = ImageDecoder.read(fixture("mono2_16bit_explicit_be.dcm"));
        for (int i : new int[] {0, 1, 100, N - 1}) {
            assertEquals(ramp(i, 65535) / 65535.0, img.pixels()[i], 1e-6, "pixel " + i);
        }
    }

    private static double signedModality(int i) {
        return 2.0 * (ramp(i, 4095) - 1024) - 10; // slope 2, intercept -10
    }

    @Test
    void signedPixelsRescaledAndWindowedWithTheFilesFirstWindow() throws IOException {
        DecodedImage img = ImageDecoder.read(fixture("signed_rescale_window.dcm"));
        int inside = 0;
        for (int i = 0; i < N; i++) {
            double v = signedModality(i);
            double y = Math.min(1, Math.max(0, (v - 39.5) / 399 + 0.5));
            if (y > 0 && y < 1) inside++;
            assertEquals(y, img.pixels()[i], 1e-5, "pixel " + i + " (modality value " + v + ")");
        }
        assertTrue(inside > 3, "some pixels fall inside the window");
    }

    @Test
    void windowNoneUsesTheFullStoredRangeThroughTheRescale() throws IOException {
        DecodedImage img = DicomReader.read(fixture("signed_rescale_window.dcm"), DicomWindow.FULL_RANGE);
        double lo = 2.0 * -32768 - 10;
        double hi = 2.0 * 32767 - 10;
        for (int i : new int[] {0, 90, N - 1}) {
            assertEquals((signedModality(i) - lo) / (hi - lo), img.pixels()[i], 1e-6);
        }
    }

    @Test
    void fixedWindowOverridesTheFilesAndAppliesToEveryRead() throws IOException {
        Path f = fixture("signed_rescale_window.dcm");
        DicomReader.setDefaultWindow(DicomWindow.parse("500,3000"));
        DecodedImage img = ImageDecoder.read(f);
        for (int i : new int[] {0, 90, N - 1}) {
            double y = Math.min(1, Math.max(0, (signedModality(i) - 499.5) / 2999 + 0.5));
            assertEquals(y, img.pixels()[i], 1e-5);
        }
    }

    @Test
    void firstFrameOfAMultiFrameFile() throws IOException {
        DecodedImage img = ImageDecoder.read(fixture("multiframe_3.dcm"));
        assertEquals(ROWS * COLS, img.pixels().length);
        for (float v : img.pixels()) assertEquals(10 / 255f, v, 1e-6);
    }

    @Test
    void rgbInterleaved() throws IOException {
        DecodedImage img = ImageDecoder.read(fixture("rgb_8bit.dcm"));
        assertEquals(3, img.channels());
        int y = 5;
        int x = 7;
        int o = (y * COLS + x) * 3;
        assertEquals(200 / 255f, img.pixels()[o], 1e-6);
        assertEquals(x * 10 / 255f, img.pixels()[o + 1], 1e-6);
        assertEquals(y * 20 / 255f, img.pixels()[o + 2], 1e-6);
    }

    @Test
    void compressedSyntaxNamesTheSyntaxAndTheFile() throws IOException {
        Path f = fixture("jpeg2000.dcm");
        UnsupportedTransferSyntaxException e = assertThrows(UnsupportedTransferSyntaxException.class,
                () -> ImageDecoder.read(f));
        assertTrue(e.getMessage().contains("JPEG 2000 Lossless"), e.getMessage());
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertEquals("1.2.840.10008.1.2.4.90", e.uid());
        assertTrue(!e.getMessage().contains("\n"));
    }

    @Test
    void noPixelData() throws IOException {
        Path f = fixture("no_pixel_data.dcm");
        DicomException e = assertThrows(DicomException.class, () -> ImageDecoder.read(f));
        assertTrue(e.getMessage().contains("no pixel data") && e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void notDicomNamedDcm() throws IOException {
        Path f = tmp.resolve("fake.dcm");
        Files.writeString(f, "this is a report, not an image\n".repeat(10));
        DicomException e = assertThrows(DicomException.class, () -> ImageDecoder.read(f));
        assertTrue(e.getMessage().contains("not a DICOM file") && e.getMessage().contains(f.toString()),
                e.getMessage());
    }

    @Test
    void truncatedFile() throws IOException {
        Path whole = fixture("mono2_16bit_explicit_be.dcm");
        byte[] b = Files.readAllBytes(whole);
        Path f = tmp.resolve("cut.dcm");
        Files.write(f, java.util.Arrays.copyOf(b, b.length - 100));
        DicomException e = assertThrows(DicomException.class, () -> ImageDecoder.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void fileWithoutExtensionIsRecognisedByItsMarker() throws IOException {
        Path f = fixture("mono2_8bit_explicit_le.dcm");
        Path bare = tmp.resolve("IM000001");
        Files.copy(f, bare);
        assertTrue(java.util.Arrays.equals(ImageDecoder.read(f).pixels(), ImageDecoder.read(bare).pixels()));
        assertTrue(ImageDecoder.looksLikeImage(bare));
        Path text = tmp.resolve("README");
        Files.writeString(text, "notes");
        assertTrue(!ImageDecoder.looksLikeImage(text));
    }

    @Test
    void pixelLimitIsCheckedBeforeDecoding() throws IOException {
        Path f = fixture("mono2_8bit_explicit_le.dcm");
        ImageDecoder.setMaxPixels(100);
        assertThrows(ImageTooLargeException.class, () -> ImageDecoder.read(f));
    }

    @Test
    void windowParsing() {
        assertEquals(DicomWindow.FROM_FILE, DicomWindow.parse("file"));
        assertEquals(DicomWindow.FULL_RANGE, DicomWindow.parse("none"));
        assertEquals(DicomWindow.of(40, 400), DicomWindow.parse(" 40, 400"));
        assertThrows(IllegalArgumentException.class, () -> DicomWindow.parse("40"));
        assertThrows(IllegalArgumentException.class, () -> DicomWindow.parse("40,0"));
        assertThrows(IllegalArgumentException.class, () -> DicomWindow.parse("a,b"));
    }
}
