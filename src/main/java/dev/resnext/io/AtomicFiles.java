package dev.resnext.io;

import dev.resnext.ResNeXtException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes files so that readers see either the old complete file or the new complete file, never a
 * partial one: write to a temporary file in the same folder, force it to disk, then rename over
 * the target. A failed write removes the temporary file and leaves the target untouched.
 */
public final class AtomicFiles {

    /** Writes the content of a file. */
    @FunctionalInterface
    public interface Writer {
        void write(OutputStream out) throws IOException;
    }

    private AtomicFiles() {
    }

    /** Writes {@code target} atomically with {@code writer}. */
    public static void write(Path target, Writer writer) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Path firstCreated = firstMissing(dir);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            removeEmptyFolders(dir, firstCreated);
            throw new ResNeXtException("cannot create folder " + dir + ": " + describe(e));
        }
        if (!Files.isWritable(dir)) {
            throw new ResNeXtException("cannot write to " + dir + ": folder is read-only");
        }
        Path tmp = null;
        boolean done = false;
        try {
            tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
            setPermissions(tmp, abs);
            // the lock tells removeLeftovers (in another process) that this temporary file is in use
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                 FileLock ignored = ch.lock()) {
                // not closed itself: closing it would close the channel before the lock is released
                OutputStream out = new java.io.BufferedOutputStream(java.nio.channels.Channels.newOutputStream(ch),
                        1 << 16);
                writer.write(new NonClosingOutputStream(out));
                out.flush();
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
            done = true;
            syncDirectory(dir);
        } catch (IOException e) {
            throw new ResNeXtException("cannot write " + abs + ": " + describe(e)
                    + " (any previous version is intact)", e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: the temporary name starts with a dot and never replaces the target
                }
            }
            if (!done) {
                // a failed write leaves no folder it created either
                removeEmptyFolders(dir, firstCreated);
            }
        }
    }

    /** The outermost folder of {@code dir} that does not exist yet (dir itself, an ancestor), or null. */
    private static Path firstMissing(Path dir) {
        Path missing = null;
        for (Path p = dir; p != null && !Files.exists(p); p = p.getParent()) {
            missing = p;
        }
        return missing;
    }

    /** Removes {@code dir} and its ancestors up to {@code top} when they are empty. */
    private static void removeEmptyFolders(Path dir, Path top) {
        if (top == null) return;
        for (Path p = dir; p != null && p.startsWith(top); p = p.getParent()) {
            try {
                Files.deleteIfExists(p); // fails (and stops) when not empty
            } catch (IOException e) {
                return;
            }
        }
    }

    /**
     * Removes temporary files of {@code target} that a killed process left behind (a killed job
     * cannot delete its own). Temporary files that another live writer holds are kept.
     *
     * @return the number of files removed
     */
    public static int removeLeftovers(Path target) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) return 0;
        String prefix = "." + abs.getFileName() + ".";
        int removed = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, p -> {
            String n = p.getFileName().toString();
            return n.startsWith(prefix) && n.endsWith(".tmp") && Files.isRegularFile(p);
        })) {
            for (Path p : ds) {
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE);
                     FileLock lock = ch.tryLock()) {
                    if (lock == null) continue; // another process is writing it
                } catch (OverlappingFileLockException e) {
                    continue; // this process is writing it
                } catch (IOException e) {
                    continue;
                }
                if (Files.deleteIfExists(p)) removed++;
            }
        } catch (IOException e) {
            // best effort: leftovers never replace a target
        }
        return removed;
    }

    /** Writes a text file atomically (UTF-8). */
    public static void writeString(Path target, String content) {
        write(target, out -> out.write(content.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    /**
     * Temporary files are created owner-only (0600); give the result the target's permissions, or
     * the usual rw-r--r-- for a new file, so that other users and services can read models.
     */
    private static void setPermissions(Path tmp, Path target) {
        try {
            var perms = Files.exists(target) ? Files.getPosixFilePermissions(target)
                    : java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--");
            Files.setPosixFilePermissions(tmp, perms);
        } catch (IOException | UnsupportedOperationException ignored) {
            // non-POSIX file systems keep their defaults
        }
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // not supported on every OS/file system; the rename itself is atomic
        }
    }

    public static String describe(IOException e) {
        String m = e.getMessage();
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            m = fse.getReason();
        }
        if (m != null && m.contains("No space left")) {
            return "no space left on device";
        }
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
