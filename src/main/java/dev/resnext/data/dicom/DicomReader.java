package dev.resnext.data.dicom;

import dev.resnext.ResNeXtException;
import dev.resnext.data.DecodedImage;
import dev.resnext.data.ImageTooLargeException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads DICOM Part 10 files with uncompressed pixel data: implicit VR little endian, explicit VR
 * little endian, deflated explicit VR little endian and explicit VR big endian. Renders the first
 * frame of 2-D and multi-frame images as a {@link DecodedImage}: samples masked to Bits Stored
 * (signed when Pixel Representation is 1), Rescale Slope/Intercept applied, windowed (see
 * {@link DicomWindow}), MONOCHROME1 inverted so that bright always means dense.
 *
 * <p>Written for this project because no DICOM reader on Maven Central works in a headless JVM
 * (ImageJ's needs AWT menus; dcm4che is not on Central). Compressed transfer syntaxes are refused
 * with an {@link UnsupportedTransferSyntaxException} naming the syntax and the file.
 */
public final class DicomReader {
    private static final int TAG_PIXEL_DATA = 0x7FE00010;
    private static final int ITEM = 0xFFFEE000;
    private static final int ITEM_END = 0xFFFEE00D;
    private static final int SEQUENCE_END = 0xFFFEE0DD;
    private static final long UNDEFINED = 0xFFFFFFFFL;

    private static final String IMPLICIT_LE = "1.2.840.10008.1.2";
    private static final String EXPLICIT_LE = "1.2.840.10008.1.2.1";
    private static final String DEFLATED_LE = "1.2.840.10008.1.2.1.99";
    private static final String EXPLICIT_BE = "1.2.840.10008.1.2.2";

    /** Names of compressed transfer syntaxes, for the error message. */
    private static final Map<String, String> COMPRESSED = Map.ofEntries(
            Map.entry("1.2.840.10008.1.2.4.50", "JPEG Baseline"),
            Map.entry("1.2.840.10008.1.2.4.51", "JPEG Extended"),
            Map.entry("1.2.840.10008.1.2.4.57", "JPEG Lossless"),
            Map.entry("1.2.840.10008.1.2.4.70", "JPEG Lossless SV1"),
            Map.entry("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
            Map.entry("1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless"),
            Map.entry("1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless"),
            Map.entry("1.2.840.10008.1.2.4.91", "JPEG 2000"),
            Map.entry("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Lossless"),
            Map.entry("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2"),
            Map.entry("1.2.840.10008.1.2.4.100", "MPEG2"),
            Map.entry("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264"),
            Map.entry("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Lossless"),
            Map.entry("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000"),
            Map.entry("1.2.840.10008.1.2.5", "RLE Lossless"));

    /** VRs whose explicit form has 2 reserved bytes and a 4-byte length. */
    private static final Set<String> LONG_VRS = Set.of("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN",
            "UR", "UT", "UV");

    private static volatile DicomWindow defaultWindow = DicomWindow.FROM_FILE;

    private DicomReader() {
    }

    /** The window used by {@link #read(Path)}: the file's, unless set otherwise for this process. */
    public static DicomWindow defaultWindow() {
        return defaultWindow;
    }

    /** Sets the window for every later {@link #read(Path)} in this process. */
    public static void setDefaultWindow(DicomWindow window) {
        defaultWindow = java.util.Objects.requireNonNull(window);
    }

    /** Whether the file starts like a DICOM Part 10 file ("DICM" after the 128-byte preamble). */
    public static boolean isDicom(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(132);
            return head.length == 132 && head[128] == 'D' && head[129] == 'I' && head[130] == 'C' && head[131] == 'M';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Reads the first frame with the {@link #defaultWindow()}, refusing images over {@code maxPixels}. */
    public static DecodedImage read(Path file, long maxPixels) {
        return render(file, parse(file, maxPixels), defaultWindow);
    }

    /** Reads the first frame with {@code window}. */
    public static DecodedImage read(Path file, DicomWindow window) {
        return render(file, parse(file, Long.MAX_VALUE), window);
    }

    /** Parses the attributes and pixel data of {@code file}. */
    public static DicomFile parse(Path file, long maxPixels) {
        byte[] bytes;
        try {
            if (Files.size(file) > Integer.MAX_VALUE - 64) {
                throw new DicomException("cannot read DICOM " + file + ": larger than 2 GB");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ResNeXtException("cannot read " + file + ": " + e.getMessage());
        }
        return parse(file, bytes, maxPixels);
    }

    /** Whether {@code bytes} start like a DICOM Part 10 file ("DICM" after the 128-byte preamble). */
    public static boolean isDicom(byte[] bytes) {
        return bytes.length >= 132 && bytes[128] == 'D' && bytes[129] == 'I' && bytes[130] == 'C' && bytes[131] == 'M';
    }

    /**
     * Parses a DICOM file held in memory (an upload); {@code name} only names it in messages and is
     * never opened.
     */
    public static DicomFile parse(Path name, byte[] bytes, long maxPixels) {
        Path file = name;
        if (bytes.length < 132 || bytes[128] != 'D' || bytes[129] != 'I' || bytes[130] != 'C' || bytes[131] != 'M') {
            throw new DicomException("cannot read DICOM " + file + ": not a DICOM file (no 'DICM' marker after the "
                    + "128-byte preamble)");
        }
        try {
            return new Parser(file, bytes, maxPixels).parse();
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new DicomException("cannot read DICOM " + file + ": truncated or damaged (an element runs past "
                    + "the end of the file)");
        }
    }

    /** Turns the first frame into intensities in [0, 1] with {@code window}. */
    public static DecodedImage render(Path file, DicomFile d, DicomWindow window) {
        int n = d.rows() * d.columns();
        int spp = d.samplesPerPixel();
        ByteBuffer buf = ByteBuffer.wrap(d.pixelData(), d.pixelOffset(), d.pixelLength())
                .order(d.bigEndian() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        int bytesPer = d.bitsAllocated() / 8;
        long mask = d.bitsStored() >= 32 ? 0xFFFFFFFFL : (1L << d.bitsStored()) - 1;
        float[] px = new float[n * spp];
        int base = d.pixelOffset();
        for (int i = 0; i < n * spp; i++) {
            // samples in file order: interleaved (RGBRGB...) or planar (RR..GG..BB..)
            int pos = base + i * bytesPer;
            long raw = switch (bytesPer) {
                case 1 -> buf.get(pos) & 0xFFL;
                case 2 -> buf.getShort(pos) & 0xFFFFL;
                default -> buf.getInt(pos) & 0xFFFFFFFFL;
            };
            raw &= mask;
            if (d.signed() && d.bitsStored() < 64 && (raw & (1L << (d.bitsStored() - 1))) != 0) {
                raw -= 1L << d.bitsStored();
            }
            int dst = i;
            if (spp == 3 && d.planar()) {
                int plane = i / n;
                dst = (i % n) * 3 + plane;
            }
            px[dst] = (float) raw;
        }
        int bitDepth = d.bitsStored() > 8 ? 16 : 8;
        if (spp == 3) {
            boolean ybr = d.photometric().startsWith("YBR_FULL");
            for (int i = 0; i < n; i++) {
                float a = px[3 * i];
                float b = px[3 * i + 1];
                float c = px[3 * i + 2];
                if (ybr) {
                    float r = a + 1.402f * (c - 128);
                    float g = a - 0.344136f * (b - 128) - 0.714136f * (c - 128);
                    float bl = a + 1.772f * (b - 128);
                    a = r;
                    b = g;
                    c = bl;
                }
                px[3 * i] = clamp01(a / 255f);
                px[3 * i + 1] = clamp01(b / 255f);
                px[3 * i + 2] = clamp01(c / 255f);
            }
            return new DecodedImage(px, d.rows(), d.columns(), 3, 8);
        }
        double slope = d.slope();
        double intercept = d.intercept();
        double lo;
        double hi;
        boolean linearWindow;
        double c;
        double w;
        if (window.mode() == DicomWindow.Mode.FIXED) {
            c = window.center();
            w = window.width();
            linearWindow = true;
        } else if (window.mode() == DicomWindow.Mode.FILE && Double.isFinite(d.windowCenter())
                && d.windowWidth() >= 1) {
            c = d.windowCenter();
            w = d.windowWidth();
            linearWindow = true;
        } else {
            c = 0;
            w = 0;
            linearWindow = false;
        }
        // full range: every value the stored bits can hold, through the rescale, so that images with the
        // same encoding are scaled alike (not stretched to their own min and max)
        double rawMin = d.signed() ? -Math.pow(2, d.bitsStored() - 1) : 0;
        double rawMax = d.signed() ? Math.pow(2, d.bitsStored() - 1) - 1 : Math.pow(2, d.bitsStored()) - 1;
        lo = Math.min(rawMin * slope + intercept, rawMax * slope + intercept);
        hi = Math.max(rawMin * slope + intercept, rawMax * slope + intercept);
        boolean invert = d.photometric().equals("MONOCHROME1");
        for (int i = 0; i < n; i++) {
            double v = px[i] * slope + intercept;
            double y;
            if (linearWindow) {
                // PS3.3 C.11.2.1.2.1, the linear VOI LUT function
                double low = c - 0.5 - (w - 1) / 2;
                double high = c - 0.5 + (w - 1) / 2;
                if (v <= low) y = 0;
                else if (v > high) y = 1;
                else y = w <= 1 ? 1 : ((v - (c - 0.5)) / (w - 1) + 0.5);
            } else {
                y = hi > lo ? (v - lo) / (hi - lo) : 0;
            }
            y = Math.min(1, Math.max(0, y));
            px[i] = (float) (invert ? 1 - y : y);
        }
        return new DecodedImage(px, d.rows(), d.columns(), 1, bitDepth);
    }

    private static float clamp01(float v) {
        return v < 0 ? 0 : Math.min(1, v);
    }

    /** Name of a transfer syntax for messages: a known name with its UID, or the UID alone. */
    static String describeSyntax(String uid) {
        String name = COMPRESSED.get(uid);
        return name != null ? name + " (" + uid + ")" : uid;
    }

    /** Walks the data set once, keeping the top-level attributes it needs. */
    private static final class Parser {
        private final Path file;
        private final long maxPixels;
        private ByteBuffer buf;
        private boolean explicit = true;
        private String syntax = IMPLICIT_LE;
        private byte[] data;

        private int rows = -1;
        private int columns = -1;
        private int spp = 1;
        private String photometric = "";
        private int bitsAllocated = -1;
        private int bitsStored = -1;
        private int pixelRepresentation = 0;
        private int planar = 0;
        private int frames = 1;
        private double slope = 1;
        private double intercept = 0;
        private double windowCenter = Double.NaN;
        private double windowWidth = Double.NaN;
        private String patientId;
        private int pixelOffset = -1;
        private long pixelLength = -1;

        Parser(Path file, byte[] bytes, long maxPixels) {
            this.file = file;
            this.maxPixels = maxPixels;
            this.data = bytes;
            this.buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            buf.position(132);
        }

        private DicomException bad(String why) {
            return new DicomException("cannot read DICOM " + file + ": " + why);
        }

        DicomFile parse() {
            // file meta information: always explicit VR little endian
            String ts = null;
            while (buf.remaining() >= 8) {
                if (Short.toUnsignedInt(buf.getShort(buf.position())) != 0x0002) break;
                Element e = next(true);
                if (e.tag() == 0x00020010) ts = string(e);
            }
            if (ts == null) {
                throw bad("no transfer syntax in the file meta information (0002,0010)");
            }
            syntax = ts;
            switch (ts) {
                case IMPLICIT_LE -> explicit = false;
                case EXPLICIT_LE -> { }
                case EXPLICIT_BE -> buf.order(ByteOrder.BIG_ENDIAN);
                case DEFLATED_LE -> inflateRest();
                default -> throw new UnsupportedTransferSyntaxException("cannot read DICOM " + file
                        + ": compressed transfer syntax " + describeSyntax(ts) + " is not supported (uncompressed "
                        + "DICOM only; convert it, e.g. with gdcmconv --raw or dcmdjpeg)", ts);
            }
            while (buf.remaining() >= 8 && pixelOffset < 0) {
                Element e = next(explicit);
                handle(e.tag(), e);
            }
            return result();
        }

        private void inflateRest() {
            Inflater inf = new Inflater(true);
            inf.setInput(data, buf.position(), data.length - buf.position());
            ByteArrayOutputStream out = new ByteArrayOutputStream(data.length * 3);
            byte[] chunk = new byte[1 << 16];
            try {
                while (!inf.finished()) {
                    int k = inf.inflate(chunk);
                    if (k == 0 && (inf.needsInput() || inf.needsDictionary())) break;
                    out.write(chunk, 0, k);
                }
            } catch (DataFormatException e) {
                throw bad("deflated data set is damaged (" + e.getMessage() + ")");
            } finally {
                inf.end();
            }
            data = out.toByteArray();
            buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        }

        private int readTag() {
            int group = Short.toUnsignedInt(buf.getShort());
            int elem = Short.toUnsignedInt(buf.getShort());
            return group << 16 | elem;
        }

        /** One element header and where its value lies. */
        private record Element(int tag, String vr, int offset, long length) {
        }

        /** Reads the element at the current position and moves past it (sequences are skipped whole). */
        private Element next(boolean explicitVr) {
            int tag = readTag();
            String vr = null;
            long length;
            if (tag == ITEM || tag == ITEM_END || tag == SEQUENCE_END) {
                length = Integer.toUnsignedLong(buf.getInt());
            } else if (explicitVr) {
                vr = new String(new byte[] {buf.get(), buf.get()}, java.nio.charset.StandardCharsets.US_ASCII);
                if (LONG_VRS.contains(vr)) {
                    buf.getShort();
                    length = Integer.toUnsignedLong(buf.getInt());
                } else if (vr.chars().allMatch(ch -> ch >= 'A' && ch <= 'Z')) {
                    length = Short.toUnsignedInt(buf.getShort());
                } else {
                    throw bad(String.format(Locale.ROOT, "invalid value representation at (%04X,%04X), byte %d",
                            tag >>> 16, tag & 0xFFFF, buf.position() - 2));
                }
            } else {
                length = Integer.toUnsignedLong(buf.getInt());
            }
            int offset = buf.position();
            if (length == UNDEFINED) {
                if (tag == TAG_PIXEL_DATA) {
                    throw new UnsupportedTransferSyntaxException("cannot read DICOM " + file
                            + ": encapsulated (compressed) pixel data in transfer syntax " + describeSyntax(syntax)
                            + " is not supported", syntax);
                }
                skipUndefined(explicitVr);
                return new Element(tag, vr, offset, buf.position() - offset);
            }
            if (length > buf.remaining()) {
                throw bad(String.format(Locale.ROOT, "element (%04X,%04X) claims %d bytes but only %d remain "
                        + "(truncated?)", tag >>> 16, tag & 0xFFFF, length, buf.remaining()));
            }
            buf.position(offset + (int) length);
            return new Element(tag, vr, offset, length);
        }

        /** Skips a sequence or item of undefined length, up to and including its delimiter. */
        private void skipUndefined(boolean explicitVr) {
            while (buf.remaining() >= 8) {
                int tag = buf.getShort(buf.position()) & 0xFFFF;
                tag = tag << 16 | (buf.getShort(buf.position() + 2) & 0xFFFF);
                if (tag == SEQUENCE_END || tag == ITEM_END) {
                    buf.position(buf.position() + 8);
                    return;
                }
                if (tag == ITEM) {
                    buf.position(buf.position() + 4);
                    long len = Integer.toUnsignedLong(buf.getInt());
                    if (len == UNDEFINED) {
                        skipUndefined(explicitVr);
                    } else {
                        if (len > buf.remaining()) throw bad("a sequence item runs past the end of the file");
                        buf.position(buf.position() + (int) len);
                    }
                    continue;
                }
                next(explicitVr);
            }
            throw bad("a sequence of undefined length has no end (truncated?)");
        }

        private void handle(int tag, Element e) {
            switch (tag) {
                case 0x00280010 -> rows = us(e);
                case 0x00280011 -> columns = us(e);
                case 0x00280002 -> spp = us(e);
                case 0x00280004 -> photometric = string(e).toUpperCase(Locale.ROOT);
                case 0x00280100 -> bitsAllocated = us(e);
                case 0x00280101 -> bitsStored = us(e);
                case 0x00280103 -> pixelRepresentation = us(e);
                case 0x00280006 -> planar = us(e);
                case 0x00280008 -> frames = (int) number(e, 1);
                case 0x00281053 -> slope = number(e, 1);
                case 0x00281052 -> intercept = number(e, 0);
                case 0x00281050 -> windowCenter = number(e, Double.NaN);
                case 0x00281051 -> windowWidth = number(e, Double.NaN);
                case 0x00100020 -> patientId = string(e);
                case TAG_PIXEL_DATA -> {
                    pixelOffset = e.offset();
                    pixelLength = e.length();
                }
                default -> { }
            }
        }

        private int us(Element e) {
            if (e.length() < 2) throw bad(String.format(Locale.ROOT, "(%04X,%04X) is empty", e.tag() >>> 16,
                    e.tag() & 0xFFFF));
            return Short.toUnsignedInt(buf.getShort(e.offset()));
        }

        private String string(Element e) {
            String s = new String(data, e.offset(), (int) e.length(), java.nio.charset.StandardCharsets.ISO_8859_1);
            return s.replace("\0", "").trim();
        }

        /** First value of a decimal or integer string, {@code absent} when empty. */
        private double number(Element e, double absent) {
            String s = string(e);
            int bs = s.indexOf('\\');
            if (bs >= 0) s = s.substring(0, bs);
            s = s.trim();
            if (s.isEmpty()) return absent;
            try {
                double v = Double.parseDouble(s);
                if (!Double.isFinite(v)) throw new NumberFormatException();
                return v;
            } catch (NumberFormatException x) {
                throw bad(String.format(Locale.ROOT, "(%04X,%04X) is not a number: '%s'", e.tag() >>> 16,
                        e.tag() & 0xFFFF, s));
            }
        }

        private DicomFile result() {
            if (pixelOffset < 0) {
                throw bad("no pixel data (7FE0,0010); not an image (e.g. a structured report or presentation state)");
            }
            if (rows < 1 || columns < 1) {
                throw bad("no image size (Rows/Columns missing or zero)");
            }
            if ((long) rows * columns > maxPixels) {
                throw new ImageTooLargeException(String.format(Locale.ROOT, "image %s is %d x %d pixels (%,d), "
                        + "more than the limit of %,d pixels; refused before decoding", file, columns, rows,
                        (long) rows * columns, maxPixels), (long) rows * columns);
            }
            if (bitsAllocated != 8 && bitsAllocated != 16 && bitsAllocated != 32) {
                throw bad("Bits Allocated " + bitsAllocated + " is not supported (8, 16 or 32)");
            }
            if (bitsStored < 1 || bitsStored > bitsAllocated) bitsStored = bitsAllocated;
            boolean mono = photometric.equals("MONOCHROME1") || photometric.equals("MONOCHROME2");
            boolean colour = spp == 3 && bitsAllocated == 8
                    && (photometric.equals("RGB") || photometric.equals("YBR_FULL"));
            if (!(mono && spp == 1) && !colour) {
                throw bad("photometric interpretation '" + photometric + "' with " + spp + " samples per pixel and "
                        + bitsAllocated + " bits is not supported (MONOCHROME1/2, or 8-bit RGB/YBR_FULL)");
            }
            if (slope == 0) throw bad("Rescale Slope is 0");
            long frameBytes = (long) rows * columns * spp * (bitsAllocated / 8);
            if (frames < 1) frames = 1;
            if (pixelLength < frameBytes) {
                throw bad("pixel data has " + pixelLength + " bytes, the first frame needs " + frameBytes
                        + " (" + columns + " x " + rows + " x " + spp + " x " + bitsAllocated + " bits; truncated?)");
            }
            return new DicomFile(syntax, rows, columns, spp, photometric, bitsAllocated, bitsStored,
                    pixelRepresentation == 1, planar == 1, frames, slope, intercept, windowCenter, windowWidth,
                    patientId, buf.order() == ByteOrder.BIG_ENDIAN, data, pixelOffset, (int) frameBytes);
        }
    }
}
