package dev.resnext.io;

import dev.resnext.ResNeXtException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Reads and writes NumPy {@code .npy} arrays and {@code .npz} archives (as written by
 * {@code np.save}, {@code np.savez} and {@code np.savez_compressed}).
 *
 * <p>ND4J has readers of its own, but in 1.0.0-M2.1 {@code Nd4j.createFromNpzFile} fails on 0-d
 * arrays (PyTorch's {@code num_batches_tracked} counters) with a bare {@code NumberFormatException},
 * and its errors do not name the file. This reader handles format versions 1 to 3, little- and
 * big-endian floating and integer types, 0-d arrays and Fortran order, and reports a bad file in one
 * line. Headers can be read without the data ({@link #readNpzHeaders(Path)}), and without ND4J, so
 * that a state dict can be checked before any native library loads.
 */
public final class NpyFiles {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private NpyFiles() {
    }

    /**
     * The header of one array: NumPy type string (e.g. {@code <f4}), shape, and layout.
     *
     * @param dtype        NumPy {@code descr}, e.g. {@code <f4}, {@code <i8}, {@code |b1}
     * @param shape        dimensions; empty for a 0-d array
     * @param fortranOrder whether the data is column-major
     */
    public record Header(String dtype, long[] shape, boolean fortranOrder) {

        /** Number of elements. */
        public long length() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        /** Whether the element type is a floating-point type (f2, f4, f8). */
        public boolean isFloating() {
            return kind() == 'f';
        }

        /** NumPy kind: f (float), i (signed), u (unsigned), b (bool). */
        public char kind() {
            return dtype.length() >= 2 ? dtype.charAt(1) : '?';
        }

        /** Bytes per element. */
        public int itemSize() {
            try {
                return Integer.parseInt(dtype.substring(2));
            } catch (RuntimeException e) {
                return -1;
            }
        }

        /** Byte order of the elements. */
        public ByteOrder byteOrder() {
            return dtype.charAt(0) == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        }

        /** The shape as NumPy prints it, e.g. {@code [2, 3]} (or {@code []} for 0-d). */
        public String shapeString() {
            return Arrays.toString(shape);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Header h && h.dtype.equals(dtype) && Arrays.equals(h.shape, shape)
                    && h.fortranOrder == fortranOrder;
        }

        @Override
        public int hashCode() {
            return 31 * dtype.hashCode() + Arrays.hashCode(shape);
        }

        @Override
        public String toString() {
            return dtype + shapeString();
        }
    }

    // ------------------------------------------------------------------------------------ reading

    /** Reads one {@code .npy} file. */
    public static INDArray readNpy(Path file) {
        checkFile(file, ".npy");
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            return read(in, file.toString());
        } catch (IOException e) {
            throw new ResNeXtException("cannot read " + file + ": " + AtomicFiles.describe(e));
        }
    }

    /** Reads only the header of one {@code .npy} file (no ND4J needed). */
    public static Header readNpyHeader(Path file) {
        checkFile(file, ".npy");
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            return readHeader(new DataInputStream(in), file.toString());
        } catch (IOException e) {
            throw new ResNeXtException("cannot read " + file + ": " + AtomicFiles.describe(e));
        }
    }

    /** Reads every array of an {@code .npz} archive, in the archive's order, keyed by name (without ".npy"). */
    public static Map<String, INDArray> readNpz(Path file) {
        checkFile(file, ".npz");
        Map<String, INDArray> out = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            for (ZipEntry e : entries(zip)) {
                String key = key(zip, e);
                try (InputStream in = new BufferedInputStream(zip.getInputStream(e), 1 << 16)) {
                    out.put(key, read(in, file + " (array '" + key + "')"));
                }
            }
        } catch (ZipException e) {
            throw new ResNeXtException(file + " is not a valid .npz archive (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new ResNeXtException("cannot read " + file + ": " + AtomicFiles.describe(e));
        }
        return out;
    }

    /** Reads the header of every array of an {@code .npz} archive, in order, without the data (no ND4J needed). */
    public static Map<String, Header> readNpzHeaders(Path file) {
        checkFile(file, ".npz");
        Map<String, Header> out = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            for (ZipEntry e : entries(zip)) {
                String key = key(zip, e);
                try (InputStream in = new BufferedInputStream(zip.getInputStream(e))) {
                    out.put(key, readHeader(new DataInputStream(in), file + " (array '" + key + "')"));
                }
            }
        } catch (ZipException e) {
            throw new ResNeXtException(file + " is not a valid .npz archive (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new ResNeXtException("cannot read " + file + ": " + AtomicFiles.describe(e));
        }
        return out;
    }

    private static java.util.List<ZipEntry> entries(ZipFile zip) {
        java.util.List<ZipEntry> list = new java.util.ArrayList<>();
        Enumeration<? extends ZipEntry> en = zip.entries();
        while (en.hasMoreElements()) {
            ZipEntry e = en.nextElement();
            if (!e.isDirectory()) {
                list.add(e);
            }
        }
        return Collections.unmodifiableList(list);
    }

    private static String key(ZipFile zip, ZipEntry e) {
        String name = e.getName();
        if (!name.endsWith(".npy")) {
            // torch.save writes a zip too (archive/data.pkl, archive/data/0, ...): say what it is
            String hint = name.endsWith(".pkl") ? "; it looks like a PyTorch checkpoint: export it to .npz with "
                    + "scripts/export-torchvision.py" : "";
            throw new ResNeXtException(zip.getName() + " is not a NumPy .npz archive (entry '" + name
                    + "' is not an .npy array" + hint + ")");
        }
        return name.substring(0, name.length() - 4);
    }

    private static void checkFile(Path file, String kind) {
        if (!Files.exists(file)) {
            throw new ResNeXtException("no such file: " + file);
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new ResNeXtException("not a readable " + kind + " file: " + file);
        }
    }

    /**
     * Reads the header of an {@code .npy} stream and leaves the stream at the first data byte;
     * {@code what} names the array in messages.
     */
    public static Header readHeader(InputStream in, String what) throws IOException {
        return readHeader(new DataInputStream(in), what);
    }

    private static Header readHeader(DataInputStream in, String what) throws IOException {
        byte[] magic = in.readNBytes(MAGIC.length);
        try {
            if (!Arrays.equals(magic, MAGIC)) {
                throw new ResNeXtException(what + " is not a NumPy .npy array (bad magic bytes)");
            }
            int major = in.readUnsignedByte();
            in.readUnsignedByte(); // minor version: no difference for reading
            long headerLen;
            if (major == 1) {
                headerLen = Short.toUnsignedInt(Short.reverseBytes(in.readShort()));
            } else if (major == 2 || major == 3) {
                headerLen = Integer.toUnsignedLong(Integer.reverseBytes(in.readInt()));
            } else {
                throw new ResNeXtException(what + ": unsupported .npy format version " + major);
            }
            if (headerLen > 1 << 20) {
                throw new ResNeXtException(what + ": implausible .npy header length " + headerLen);
            }
            byte[] h = new byte[(int) headerLen];
            in.readFully(h);
            String header = new String(h, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            return parseHeader(header, what);
        } catch (EOFException e) {
            throw new ResNeXtException(what + " is truncated (the .npy header is incomplete)");
        }
    }

    static Header parseHeader(String header, String what) {
        Matcher d = DESCR.matcher(header);
        Matcher f = FORTRAN.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) {
            throw new ResNeXtException(what + ": unreadable .npy header " + header.trim());
        }
        String dtype = d.group(1);
        if (dtype.length() == 2 && dtype.charAt(0) != '<' && dtype.charAt(0) != '>' && dtype.charAt(0) != '|'
                && dtype.charAt(0) != '=') {
            dtype = "|" + dtype;
        }
        if (dtype.startsWith("=")) {
            dtype = "<" + dtype.substring(1); // native order; every platform we run on is little-endian
        }
        String dims = s.group(1).trim();
        long[] shape;
        if (dims.isEmpty()) {
            shape = new long[0];
        } else {
            String[] parts = dims.split(",");
            int n = 0;
            long[] tmp = new long[parts.length];
            for (String p : parts) {
                String t = p.trim();
                if (t.isEmpty()) {
                    continue;
                }
                try {
                    tmp[n++] = Long.parseLong(t.endsWith("L") ? t.substring(0, t.length() - 1) : t);
                } catch (NumberFormatException e) {
                    throw new ResNeXtException(what + ": unreadable shape (" + dims + ") in the .npy header");
                }
            }
            shape = Arrays.copyOf(tmp, n);
        }
        Header hd = new Header(dtype, shape, "True".equals(f.group(1)));
        if (dataType(hd) == null) {
            throw new ResNeXtException(what + ": unsupported element type '" + dtype
                    + "' (supported: float16/32/64, int8/16/32/64, uint8/16, bool)");
        }
        return hd;
    }

    /** The ND4J data type an array of this header is read into, or null when unsupported. */
    static DataType dataType(Header h) {
        int size = h.itemSize();
        return switch (h.kind()) {
            case 'f' -> size == 2 ? DataType.HALF : size == 4 ? DataType.FLOAT : size == 8 ? DataType.DOUBLE : null;
            case 'i' -> size == 1 ? DataType.BYTE : size == 2 ? DataType.SHORT : size == 4 ? DataType.INT
                    : size == 8 ? DataType.LONG : null;
            case 'u' -> size == 1 ? DataType.UBYTE : size == 2 ? DataType.UINT16 : null;
            case 'b' -> size == 1 ? DataType.BOOL : null;
            default -> null;
        };
    }

    private static INDArray read(InputStream raw, String what) throws IOException {
        DataInputStream in = new DataInputStream(raw);
        Header h = readHeader(in, what);
        long n = h.length();
        int size = h.itemSize();
        if (n * size > Integer.MAX_VALUE - 64) {
            throw new ResNeXtException(what + ": array of " + n + " elements is too large to read");
        }
        byte[] bytes = new byte[(int) (n * size)];
        try {
            in.readFully(bytes);
        } catch (EOFException e) {
            throw new ResNeXtException(what + " is truncated: expected " + n + " elements of type " + h.dtype()
                    + " for shape " + h.shapeString());
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(h.byteOrder());
        int len = (int) n;
        INDArray flat = switch (h.kind()) {
            case 'f' -> {
                if (size == 8) {
                    double[] v = new double[len];
                    buf.asDoubleBuffer().get(v);
                    yield Nd4j.createFromArray(v);
                }
                float[] v = new float[len];
                if (size == 4) {
                    buf.asFloatBuffer().get(v);
                } else {
                    for (int i = 0; i < len; i++) {
                        v[i] = halfToFloat(buf.getShort());
                    }
                }
                INDArray a = Nd4j.createFromArray(v);
                yield size == 2 ? a.castTo(DataType.HALF) : a;
            }
            case 'i', 'u' -> {
                long[] v = new long[len];
                for (int i = 0; i < len; i++) {
                    v[i] = switch (size) {
                        case 1 -> h.kind() == 'u' ? Byte.toUnsignedInt(buf.get()) : buf.get();
                        case 2 -> h.kind() == 'u' ? Short.toUnsignedInt(buf.getShort()) : buf.getShort();
                        case 4 -> buf.getInt();
                        default -> buf.getLong();
                    };
                }
                yield Nd4j.createFromArray(v).castTo(dataType(h));
            }
            default -> {
                boolean[] v = new boolean[len];
                for (int i = 0; i < len; i++) {
                    v[i] = bytes[i] != 0;
                }
                yield Nd4j.createFromArray(v);
            }
        };
        if (h.shape().length == 0) {
            return flat.reshape(new long[0]);
        }
        if (n == 0) {
            return Nd4j.create(flat.dataType(), h.shape());
        }
        if (h.fortranOrder()) {
            return flat.reshape('f', h.shape()).dup('c');
        }
        return flat.reshape('c', h.shape());
    }

    /** IEEE 754 half precision to float (Float.float16ToFloat needs Java 20). */
    static float halfToFloat(short bits) {
        int h = bits & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f; // subnormal (or zero)
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    // ------------------------------------------------------------------------------------ writing

    /**
     * Writes one array as {@code .npy} (C order), atomically. FLOAT, DOUBLE, INT, LONG, SHORT, UBYTE, BYTE and BOOL arrays keep
     * their type; other types are written as float32.
     */
    public static void writeNpy(Path file, INDArray array) {
        AtomicFiles.write(file, out -> write(out, array));
    }

    /** Writes arrays as an uncompressed {@code .npz} archive (what {@code np.savez} writes), atomically. */
    public static void writeNpz(Path file, Map<String, INDArray> arrays) {
        AtomicFiles.write(file, out -> {
            ZipOutputStream zip = new ZipOutputStream(out);
            for (Map.Entry<String, INDArray> e : arrays.entrySet()) {
                byte[] bytes;
                try (java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream()) {
                    write(bos, e.getValue());
                    bytes = bos.toByteArray();
                }
                // stored entries, like np.savez, so that numpy and this class read them the same way
                ZipEntry ze = new ZipEntry(e.getKey() + ".npy");
                ze.setMethod(ZipEntry.STORED);
                ze.setSize(bytes.length);
                CRC32 crc = new CRC32();
                crc.update(bytes);
                ze.setCrc(crc.getValue());
                zip.putNextEntry(ze);
                zip.write(bytes);
                zip.closeEntry();
            }
            zip.finish();
        });
    }

    private static void write(OutputStream out, INDArray array) throws IOException {
        DataType t = array.dataType();
        String dtype;
        int size;
        switch (t) {
            case DOUBLE -> { dtype = "<f8"; size = 8; }
            case LONG -> { dtype = "<i8"; size = 8; }
            case INT -> { dtype = "<i4"; size = 4; }
            case SHORT -> { dtype = "<i2"; size = 2; }
            case UBYTE -> { dtype = "|u1"; size = 1; }
            case BYTE -> { dtype = "|i1"; size = 1; }
            case BOOL -> { dtype = "|b1"; size = 1; }
            default -> { dtype = "<f4"; size = 4; t = DataType.FLOAT; }
        }
        INDArray c = array.castTo(t).dup('c');
        long[] shape = array.shape();
        StringBuilder dims = new StringBuilder();
        for (int i = 0; i < shape.length; i++) {
            dims.append(shape[i]).append(shape.length == 1 ? "," : (i + 1 < shape.length ? ", " : ""));
        }
        String header = "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': (" + dims + "), }";
        // pad so that the data starts on a 64-byte boundary, as NumPy does; the header ends with a newline
        int total = MAGIC.length + 2 + 2 + header.length() + 1;
        int pad = (64 - total % 64) % 64;
        header = header + " ".repeat(pad) + "\n";
        out.write(MAGIC);
        out.write(1);
        out.write(0);
        int hl = header.length();
        out.write(hl & 0xff);
        out.write((hl >>> 8) & 0xff);
        out.write(header.getBytes(StandardCharsets.ISO_8859_1));
        long n = c.length();
        int chunk = 1 << 16;
        ByteBuffer buf = ByteBuffer.allocate(chunk * size).order(ByteOrder.LITTLE_ENDIAN);
        INDArray flat = c.reshape(n);
        for (long start = 0; start < n; start += chunk) {
            int len = (int) Math.min(chunk, n - start);
            buf.clear();
            INDArray part = flat.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(start, start + len));
            switch (t) {
                case DOUBLE -> buf.asDoubleBuffer().put(part.toDoubleVector());
                case LONG -> buf.asLongBuffer().put(part.toLongVector());
                case INT -> buf.asIntBuffer().put(part.toIntVector());
                case SHORT -> {
                    for (int v : part.castTo(DataType.INT).toIntVector()) buf.putShort((short) v);
                }
                case UBYTE, BYTE, BOOL -> {
                    for (int v : part.castTo(DataType.INT).toIntVector()) buf.put((byte) v);
                }
                default -> buf.asFloatBuffer().put(part.toFloatVector());
            }
            out.write(buf.array(), 0, len * size);
        }
    }
}
