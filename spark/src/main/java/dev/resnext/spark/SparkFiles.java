package dev.resnext.spark;

import dev.resnext.ResNeXtException;
import dev.resnext.data.DecodedImage;
import dev.resnext.data.ImageDecoder;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Image files on any file system Hadoop reads (local, HDFS, S3...): listing on the driver, and
 * reading plus decoding on the executors with the main project's {@link ImageDecoder}, so that
 * every format the {@code resnext} commands read (ImageIO, OpenCV, DICOM) reads the same here.
 */
final class SparkFiles {
    private SparkFiles() {
    }

    /**
     * Every image under {@code root} (a folder, searched recursively, or one file), as fully
     * qualified URIs in sorted order: executors run in other working directories, so relative
     * paths must be resolved on the driver.
     */
    static List<String> listImages(String root, Configuration conf) {
        try {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(root);
            FileSystem fs = p.getFileSystem(conf);
            if (!fs.exists(p)) {
                throw new ResNeXtException("no such file or folder: " + root);
            }
            p = fs.makeQualified(p);
            List<String> files = new ArrayList<>();
            FileStatus st = fs.getFileStatus(p);
            if (st.isFile()) {
                files.add(p.toString());
            } else {
                RemoteIterator<LocatedFileStatus> it = fs.listFiles(p, true);
                while (it.hasNext()) {
                    LocatedFileStatus f = it.next();
                    if (f.isFile() && ImageDecoder.looksLikeImage(Path.of(f.getPath().getName()))) {
                        files.add(f.getPath().toString());
                    }
                }
            }
            files.sort(null);
            if (files.isEmpty()) {
                throw new ResNeXtException("no images found in " + root);
            }
            return files;
        } catch (IOException e) {
            throw new ResNeXtException("cannot list " + root + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads and decodes one image. The bytes go through a local temporary file because the
     * decoders (DICOM, OpenCV) read files; a file that cannot be read or decoded is a
     * {@link ResNeXtException} naming it.
     */
    static DecodedImage decode(String uri, Configuration conf) {
        Path tmp = null;
        try {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(uri);
            String name = p.getName();
            int dot = name.lastIndexOf('.');
            tmp = Files.createTempFile("resnext-img-", dot >= 0 ? name.substring(dot) : "");
            try (FSDataInputStream in = p.getFileSystem(conf).open(p)) {
                Files.copy((InputStream) in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            try {
                return ImageDecoder.read(tmp);
            } catch (ResNeXtException e) {
                // name the original file, not the temporary copy
                throw new ResNeXtException(e.getMessage().replace(tmp.toString(), uri), e);
            }
        } catch (IOException e) {
            throw new ResNeXtException("cannot read image " + uri + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a temp file left behind is harmless
                }
            }
        }
    }

    /** {@code path} fully qualified (scheme and absolute path), as the listed files are. */
    static String qualify(String path, Configuration conf) {
        try {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
            return p.getFileSystem(conf).makeQualified(p).toString();
        } catch (IOException e) {
            throw new ResNeXtException("cannot resolve " + path + ": " + e.getMessage(), e);
        }
    }

    /** The name of the folder holding {@code uri} (the class of an image in a class-folder layout). */
    static String parentName(String uri) {
        org.apache.hadoop.fs.Path parent = new org.apache.hadoop.fs.Path(uri).getParent();
        return parent == null ? "" : parent.getName();
    }

    /** The path of {@code uri} below {@code root}, for reproducible splits wherever the data lives. */
    static String relative(String uri, String root) {
        return uri.startsWith(root) ? uri.substring(root.length()) : uri;
    }
}
