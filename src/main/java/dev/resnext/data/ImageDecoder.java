package dev.resnext.data;

import dev.resnext.ResNeXtException;
import dev.resnext.data.dicom.DicomReader;
import org.datavec.image.loader.NativeImageLoader;
import org.nd4j.linalg.api.ndarray.INDArray;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Decodes image files of any bit depth into {@link DecodedImage}s.
 *
 * <p>Java's ImageIO reads PNG, JPEG, BMP, GIF and TIFF with their true bit depth (16-bit grayscale
 * X-rays keep their 65536 levels); other formats DataVec's {@link NativeImageLoader} (OpenCV) can
 * read are decoded with it. DICOM files ({@code .dcm}, {@code .dicom}, or no extension with the
 * DICOM marker) are read by {@link DicomReader}. A file that none can read is reported by name.
 */
public final class ImageDecoder {

    /** File extensions treated as images when scanning folders. */
    public static final Set<String> EXTENSIONS = Set.of("png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff",
            "pgm", "ppm", "pbm", "webp", "jp2", "dib", "ras", "sr", "exr", "hdr", "pic", "dcm", "dicom");

    /** Extensions of DICOM files; files without an extension are also read as DICOM when they carry its marker. */
    private static final Set<String> DICOM_EXTENSIONS = Set.of("dcm", "dicom");

    /** Formats Java's ImageIO reads itself. */
    private static final Set<String> JAVA_FORMATS = Set.of("png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff");

    private ImageDecoder() {
    }

    private static String extension(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(dot + 1) : "";
    }

    /**
     * Whether the file name has an image extension, or the file has none and carries the DICOM
     * marker (hospital exports often name files IM000001).
     */
    public static boolean looksLikeImage(Path p) {
        String ext = extension(p);
        return EXTENSIONS.contains(ext) || (ext.isEmpty() && DicomReader.isDicom(p));
    }

    /** Default pixel limit: 50 megapixels (e.g. 7000 x 7000), about 0.6 GB as RGB floats. */
    public static final long DEFAULT_MAX_PIXELS = 50_000_000L;
    private static volatile long maxPixels = DEFAULT_MAX_PIXELS;

    /** Largest image (width x height) that is decoded; larger ones are refused from their header. */
    public static long maxPixels() {
        return maxPixels;
    }

    /** Sets the pixel limit for every later decode in this process. */
    public static void setMaxPixels(long limit) {
        if (limit < 1) throw new IllegalArgumentException("pixel limit must be at least 1, was " + limit);
        maxPixels = limit;
    }

    /**
     * Decodes a file; throws {@link ResNeXtException} naming the file when it cannot be read, and
     * {@link ImageTooLargeException} (before decoding) when it has more than {@link #maxPixels()} pixels.
     */
    public static DecodedImage read(Path file) {
        if (DICOM_EXTENSIONS.contains(extension(file)) || (extension(file).isEmpty() && DicomReader.isDicom(file))) {
            try {
                return DicomReader.read(file, maxPixels);
            } catch (OutOfMemoryError e) {
                throw new ResNeXtException("cannot read image " + file + ": out of memory while decoding it");
            }
        }
        BufferedImage img = decodeWithImageIo(file, () -> ImageIO.createImageInputStream(file.toFile()));
        if (img != null) {
            return fromBufferedImage(img);
        }
        if (JAVA_FORMATS.contains(extension(file))) {
            // ImageIO handles these formats; if it found no valid header, OpenCV will not either
            throw new ResNeXtException("cannot read image " + file + ": not a valid " + extension(file).toUpperCase(
                    Locale.ROOT) + " file (damaged or truncated)");
        }
        return readWithOpenCv(file);
    }

    /**
     * Decodes an image held in memory (an upload to a server): DICOM when it carries the DICOM
     * marker, else any format ImageIO or OpenCV reads, with the same pixel limit and messages as
     * {@link #read(Path)}. {@code name} (say the client's file name) only names the image in
     * messages; nothing is read from or written to the file system.
     */
    public static DecodedImage decode(byte[] bytes, String name) {
        Path shown = displayName(name);
        if (bytes.length == 0) {
            throw new ResNeXtException("cannot read image " + shown + ": it is empty");
        }
        if (DicomReader.isDicom(bytes)) {
            try {
                return DicomReader.render(shown, DicomReader.parse(shown, bytes, maxPixels), DicomReader.defaultWindow());
            } catch (OutOfMemoryError e) {
                throw new ResNeXtException("cannot read image " + shown + ": out of memory while decoding it");
            }
        }
        BufferedImage img = decodeWithImageIo(shown,
                () -> ImageIO.createImageInputStream(new ByteArrayInputStream(bytes)));
        if (img != null) {
            return fromBufferedImage(img);
        }
        INDArray m;
        try {
            m = new NativeImageLoader().asMatrix(new ByteArrayInputStream(bytes));
        } catch (IOException | RuntimeException e) {
            throw new ResNeXtException("cannot read image " + shown + ": not an image or damaged (" + reason(e) + ")");
        }
        return fromOpenCv(shown, m);
    }

    /** A path-shaped name for messages: the last path element of {@code name}, printable characters only. */
    private static Path displayName(String name) {
        String n = name == null ? "" : name.replace('\\', '/');
        n = n.substring(n.lastIndexOf('/') + 1).replaceAll("[^\\p{Alnum}._ -]", "_");
        if (n.length() > 100) n = n.substring(0, 100);
        return Path.of(n.isBlank() || n.equals(".") || n.equals("..") ? "upload" : n);
    }

    /** Where ImageIO reads from: the file, or bytes held in memory. */
    private interface StreamSource {
        ImageInputStream open() throws IOException;
    }

    /**
     * {@link #readWithImageIo} with every failure as one message naming {@code shown}; null when no
     * ImageIO reader knows the format.
     */
    private static BufferedImage decodeWithImageIo(Path shown, StreamSource source) {
        try {
            return readWithImageIo(shown, source.open());
        } catch (ImageTooLargeException e) {
            throw e;
        } catch (OutOfMemoryError e) {
            // below the pixel limit but still too big for this heap: name the file, let --skip-unreadable skip it
            throw new ResNeXtException("cannot read image " + shown + ": out of memory while decoding it");
        } catch (IOException | RuntimeException e) {
            throw new ResNeXtException("cannot read image " + shown + ": " + reason(e));
        }
    }

    /**
     * {@code ImageIO.read}, except that a JPEG that ends early is an error: ImageIO only warns
     * ("Truncated File - Missing EOI marker", "premature end of data segment") and returns the
     * image with the missing rows filled in grey.
     */
    private static BufferedImage readWithImageIo(Path file, ImageInputStream stream) throws IOException {
        try (ImageInputStream in = stream) {
            if (in == null) {
                throw new IOException("cannot open the file");
            }
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                return null;
            }
            ImageReader reader = readers.next();
            try {
                List<String> warnings = new ArrayList<>();
                reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
                reader.setInput(in, true, true);
                checkSize(file, reader.getWidth(0), reader.getHeight(0));
                BufferedImage img = reader.read(0, reader.getDefaultReadParam());
                for (String w : warnings) {
                    String lw = w == null ? "" : w.toLowerCase(Locale.ROOT);
                    if (lw.contains("premature end") || lw.contains("truncated")) {
                        throw new IOException("truncated (" + w + ")");
                    }
                }
                return img;
            } finally {
                reader.dispose();
            }
        }
    }

    private static void checkSize(Path file, long width, long height) {
        long limit = maxPixels;
        if (width * height > limit) {
            throw new ImageTooLargeException(String.format(Locale.ROOT, "image %s is %d x %d pixels (%,d), more than "
                    + "the limit of %,d pixels; refused before decoding", file, width, height, width * height, limit),
                    width * height);
        }
    }

    /** Converts an AWT image (any bit depth, palette, alpha) to a decoded image. */
    public static DecodedImage fromBufferedImage(BufferedImage img) {
        int h = img.getHeight();
        int w = img.getWidth();
        Raster r = img.getRaster();
        int colour = img.getColorModel().getNumColorComponents();
        boolean palette = img.getColorModel() instanceof IndexColorModel;
        int bits = r.getSampleModel().getSampleSize(0);
        if (palette || bits > 16 || r.getNumBands() < colour || (colour != 1 && colour != 3)) {
            // palette or unusual layouts: let AWT convert to 8-bit RGB
            float[] px = new float[h * w * 3];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int rgb = img.getRGB(x, y);
                    int o = (y * w + x) * 3;
                    px[o] = ((rgb >> 16) & 0xFF) / 255f;
                    px[o + 1] = ((rgb >> 8) & 0xFF) / 255f;
                    px[o + 2] = (rgb & 0xFF) / 255f;
                }
            }
            return new DecodedImage(px, h, w, 3, 8);
        }
        float scale = 1f / ((1 << bits) - 1);
        float[] px = new float[h * w * colour];
        float[] row = new float[w];
        for (int c = 0; c < colour; c++) {
            for (int y = 0; y < h; y++) {
                r.getSamples(0, y, w, 1, c, row);
                for (int x = 0; x < w; x++) {
                    px[(y * w + x) * colour + c] = row[x] * scale;
                }
            }
        }
        return new DecodedImage(px, h, w, colour, bits);
    }

    private static DecodedImage readWithOpenCv(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ResNeXtException("cannot read image " + file + ": not a file");
        }
        INDArray m;
        try {
            m = new NativeImageLoader().asMatrix(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new ResNeXtException("cannot read image " + file + ": not an image or damaged (" + reason(e) + ")");
        }
        return fromOpenCv(file, m);
    }

    private static DecodedImage fromOpenCv(Path file, INDArray m) {
        if (m == null || m.rank() != 4 || m.length() == 0) {
            throw new ResNeXtException("cannot read image " + file + ": not an image or damaged");
        }
        int c = (int) m.size(1);
        int h = (int) m.size(2);
        int w = (int) m.size(3);
        // OpenCV formats are measured after decoding (OpenCV has its own limit of 2^30 pixels)
        checkSize(file, w, h);
        // OpenCV gives raw sample values; infer the depth from the range
        int bits = m.maxNumber().doubleValue() > 255 ? 16 : 8;
        float scale = 1f / ((1 << bits) - 1);
        int outC = c >= 3 ? 3 : 1;
        float[] px = new float[h * w * outC];
        float[] data = m.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c').data().asFloat();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int k = 0; k < outC; k++) {
                    // OpenCV stores BGR: reverse to RGB
                    int src = outC == 3 ? 2 - k : 0;
                    px[(y * w + x) * outC + k] = data[(src * h + y) * w + x] * scale;
                }
            }
        }
        return new DecodedImage(px, h, w, outC, bits);
    }

    private static String reason(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
