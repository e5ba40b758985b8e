package dev.resnext.data;

import dev.resnext.ResNeXtException;
import dev.resnext.io.AtomicFiles;
import dev.resnext.io.NpyFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The raw elements of one array of an {@code .npz}, read by element offset ({@code long}) without
 * holding the array as floats: small arrays are kept as their raw bytes (a uint8 image set takes
 * one byte per pixel), large ones are extracted once to a cache folder and read from there with
 * positional reads, so a set larger than memory costs only the pages in use.
 */
final class NpzStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NpzStore.class);

    private final NpyFiles.Header header;
    private final byte[] memory;
    private final FileChannel channel;
    private final long dataStart;

    private NpzStore(NpyFiles.Header header, byte[] memory, FileChannel channel, long dataStart) {
        this.header = header;
        this.memory = memory;
        this.channel = channel;
        this.dataStart = dataStart;
    }

    NpyFiles.Header header() {
        return header;
    }

    /** Opens array {@code key} of {@code npz}. */
    static NpzStore open(Path npz, String key) {
        String what = npz + " (array '" + key + "')";
        try (ZipFile zip = new ZipFile(npz.toFile())) {
            ZipEntry e = zip.getEntry(key + ".npy");
            if (e == null) throw new ResNeXtException(npz + " has no array '" + key + "'");
            NpyFiles.Header h;
            long bytes;
            try (InputStream in = new BufferedInputStream(zip.getInputStream(e), 1 << 16)) {
                h = NpyFiles.readHeader(in, what);
                bytes = h.length() * h.itemSize();
                if (bytes <= DataSettings.npzInMemoryBytes()) {
                    byte[] data = new byte[(int) bytes];
                    readFully(in, data, what, h);
                    return new NpzStore(h, data, null, 0);
                }
            }
            Path cached = extract(npz, zip, e, key);
            FileChannel ch = FileChannel.open(cached, StandardOpenOption.READ);
            long start = ch.size() - bytes;
            if (start < 0) {
                ch.close();
                throw new ResNeXtException(what + " is truncated: expected " + h.length() + " elements of type "
                        + h.dtype() + " for shape " + h.shapeString());
            }
            return new NpzStore(h, null, ch, start);
        } catch (java.util.zip.ZipException e) {
            throw new ResNeXtException(npz + " is not a valid .npz archive (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new ResNeXtException("cannot read " + what + ": " + AtomicFiles.describe(e));
        }
    }

    private static void readFully(InputStream in, byte[] data, String what, NpyFiles.Header h) throws IOException {
        int off = 0;
        while (off < data.length) {
            int k = in.read(data, off, data.length - off);
            if (k < 0) {
                throw new ResNeXtException(what + " is truncated: expected " + h.length() + " elements of type "
                        + h.dtype() + " for shape " + h.shapeString());
            }
            off += k;
        }
    }

    /**
     * The array as a plain {@code .npy} in the cache folder, extracted once (atomically) and reused
     * while the {@code .npz}'s path, size and modification time are unchanged.
     */
    private static Path extract(Path npz, ZipFile zip, ZipEntry e, String key) throws IOException {
        Path abs = npz.toAbsolutePath().normalize();
        String id = abs + "|" + Files.size(abs) + "|" + Files.getLastModifiedTime(abs).toMillis() + "|" + key;
        String hash;
        try {
            hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(id.getBytes(StandardCharsets.UTF_8))).substring(0, 24);
        } catch (NoSuchAlgorithmException x) {
            throw new IllegalStateException(x);
        }
        Path target = DataSettings.cacheDir().resolve("npz").resolve(hash + "-" + key + ".npy");
        if (Files.isRegularFile(target) && Files.size(target) == e.getSize()) {
            return target;
        }
        long t0 = System.nanoTime();
        log.info("extracting {} of {} ({} MB) to {} once, to read it without loading it", key, npz.getFileName(),
                e.getSize() >> 20, target.getParent());
        AtomicFiles.write(target, out -> {
            try (InputStream in = zip.getInputStream(e)) {
                in.transferTo(out);
            }
        });
        log.info("extracted in {} s", (System.nanoTime() - t0) / 1_000_000_000L);
        return target;
    }

    /** Reads {@code dst.length} bytes starting at element {@code element}. */
    void read(long element, byte[] dst) {
        long off = element * header.itemSize();
        if (memory != null) {
            System.arraycopy(memory, (int) off, dst, 0, dst.length);
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(dst);
        try {
            long pos = dataStart + off;
            while (b.hasRemaining()) {
                int k = channel.read(b, pos + b.position());
                if (k < 0) throw new EOFException("end of the cached array");
            }
        } catch (IOException e) {
            throw new ResNeXtException("cannot read the cached array: " + AtomicFiles.describe(e));
        }
    }

    /** Element {@code i} of {@code raw} (raw bytes of this array's type) as a double. */
    static double element(NpyFiles.Header h, ByteBuffer raw, int i) {
        int size = h.itemSize();
        int pos = i * size;
        return switch (h.kind()) {
            case 'f' -> size == 8 ? raw.getDouble(pos) : size == 4 ? raw.getFloat(pos)
                    : halfToFloat(raw.getShort(pos));
            case 'u' -> size == 1 ? Byte.toUnsignedInt(raw.get(pos)) : size == 2 ? Short.toUnsignedInt(raw.getShort(pos))
                    : size == 4 ? Integer.toUnsignedLong(raw.getInt(pos)) : raw.getLong(pos);
            case 'i' -> size == 1 ? raw.get(pos) : size == 2 ? raw.getShort(pos) : size == 4 ? raw.getInt(pos)
                    : raw.getLong(pos);
            default -> raw.get(pos) != 0 ? 1 : 0;
        };
    }

    private static float halfToFloat(short bits) {
        int hb = bits & 0xffff;
        int sign = (hb & 0x8000) << 16;
        int exp = (hb >>> 10) & 0x1f;
        int mant = hb & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** Visits every element in order, in chunks, streamed from the archive (nothing is held). */
    static void scan(Path npz, String key, ElementVisitor visitor) {
        String what = npz + " (array '" + key + "')";
        try (ZipFile zip = new ZipFile(npz.toFile());
             InputStream in = new BufferedInputStream(zip.getInputStream(zip.getEntry(key + ".npy")), 1 << 16)) {
            NpyFiles.Header h = NpyFiles.readHeader(in, what);
            int size = h.itemSize();
            long total = h.length();
            int chunkElems = Math.max(1, (1 << 20) / size);
            byte[] chunk = new byte[chunkElems * size];
            ByteBuffer buf = ByteBuffer.wrap(chunk).order(h.byteOrder());
            long done = 0;
            while (done < total) {
                int k = (int) Math.min(chunkElems, total - done);
                int need = k * size;
                int off = 0;
                while (off < need) {
                    int r = in.read(chunk, off, need - off);
                    if (r < 0) {
                        throw new ResNeXtException(what + " is truncated: expected " + total + " elements of type "
                                + h.dtype() + " for shape " + h.shapeString());
                    }
                    off += r;
                }
                for (int i = 0; i < k; i++) visitor.accept(element(h, buf, i));
                done += k;
            }
        } catch (java.util.zip.ZipException e) {
            throw new ResNeXtException(npz + " is not a valid .npz archive (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new ResNeXtException("cannot read " + what + ": " + AtomicFiles.describe(e));
        }
    }

    /** Smallest and largest finite element, and the number of NaN or infinite ones. */
    record Stats(double min, double max, long nonFinite) {
    }

    /**
     * {@link Stats} of array {@code key}, streamed; integer types are read with type-specific loops
     * (a few hundred MB per second), as this pass touches every value of every split.
     */
    static Stats stats(Path npz, String key) {
        String what = npz + " (array '" + key + "')";
        try (ZipFile zip = new ZipFile(npz.toFile());
             InputStream in = new BufferedInputStream(zip.getInputStream(zip.getEntry(key + ".npy")), 1 << 16)) {
            NpyFiles.Header h = NpyFiles.readHeader(in, what);
            int size = h.itemSize();
            long total = h.length() * size;
            byte[] chunk = new byte[(1 << 20) / size * size];
            ByteBuffer buf = ByteBuffer.wrap(chunk).order(h.byteOrder());
            double min = Double.POSITIVE_INFINITY;
            double max = Double.NEGATIVE_INFINITY;
            long bad = 0;
            long done = 0;
            boolean u8 = h.kind() == 'u' && size == 1;
            while (done < total) {
                int need = (int) Math.min(chunk.length, total - done);
                int off = 0;
                while (off < need) {
                    int r = in.read(chunk, off, need - off);
                    if (r < 0) {
                        throw new ResNeXtException(what + " is truncated: expected " + h.length() + " elements of type "
                                + h.dtype() + " for shape " + h.shapeString());
                    }
                    off += r;
                }
                if (u8) {
                    int lo = 255;
                    int hi = 0;
                    for (int i = 0; i < need; i++) {
                        int v = chunk[i] & 0xFF;
                        if (v < lo) lo = v;
                        if (v > hi) hi = v;
                    }
                    min = Math.min(min, lo);
                    max = Math.max(max, hi);
                } else {
                    int k = need / size;
                    for (int i = 0; i < k; i++) {
                        double v = element(h, buf, i);
                        if (!Double.isFinite(v)) {
                            bad++;
                            continue;
                        }
                        if (v < min) min = v;
                        if (v > max) max = v;
                    }
                }
                done += need;
            }
            return new Stats(min, max, bad);
        } catch (java.util.zip.ZipException e) {
            throw new ResNeXtException(npz + " is not a valid .npz archive (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new ResNeXtException("cannot read " + what + ": " + AtomicFiles.describe(e));
        }
    }

    /** Receives array elements. */
    @FunctionalInterface
    interface ElementVisitor {
        void accept(double v);
    }

    @Override
    public void close() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // read-only: nothing to lose
            }
        }
    }
}
