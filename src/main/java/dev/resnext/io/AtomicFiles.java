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
 * the target. A failed write removes the temporary file and leaves the target untouched; so does a
 * SIGINT or SIGTERM during the write ({@link ExitCleanup}). Temporary names carry a tag that proves
 * they are ours, so that clean-up never deletes a file that merely looks like one.
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
        Path tmpFile = dir.resolve(temporaryName(abs.getFileName().toString(), ProcessHandle.current().pid(),
                String.format("%016x", RANDOM.nextLong())));
        boolean done = false;
        ExitCleanup.Registration onSignal;
        try {
            // folder and temporary file are created under the clean-up registry's guard: a SIGINT/SIGTERM
            // either comes first (nothing is created) or finds the clean-up registered
            onSignal = ExitCleanup.registerCreating(() -> {
                Files.createDirectories(dir);
                if (!Files.isWritable(dir)) {
                    throw new java.nio.file.AccessDeniedException(dir.toString(), null, "folder is read-only");
                }
                Files.createFile(tmpFile);
            }, () -> {
                try {
                    Files.deleteIfExists(tmpFile);
                } catch (IOException ignored) {
                    // best effort
                }
                removeEmptyFolders(dir, firstCreated);
            });
        } catch (IOException e) {
            removeEmptyFolders(dir, firstCreated);
            if (!Files.isDirectory(dir)) {
                throw new ResNeXtException("cannot create folder " + dir + ": " + describe(e));
            }
            if (!Files.isWritable(dir)) {
                throw new ResNeXtException("cannot write to " + dir + ": folder is read-only");
            }
            throw new ResNeXtException("cannot write " + abs + ": " + describe(e) + " (any previous version is intact)", e);
        }
        Path tmp = tmpFile;
        try {
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
            if (onSignal != null) onSignal.close();
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
     * cannot delete its own). Only files whose name this class's naming scheme proves to be its own
     * are touched (see {@link #isOurTemporaryFile}): a user's {@code .model.zip.backup.tmp} stays.
     * Temporary files of a live process (its id is running, or it holds the file's lock) are kept.
     *
     * @return the number of files removed
     */
    public static int removeLeftovers(Path target) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) return 0;
        String targetName = abs.getFileName().toString();
        int removed = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, p ->
                isOurTemporaryFile(p.getFileName().toString(), targetName) && Files.isRegularFile(p))) {
            for (Path p : ds) {
                long pid = writerPid(p.getFileName().toString(), targetName);
                if (pid == ProcessHandle.current().pid() || ProcessHandle.of(pid).map(ProcessHandle::isAlive)
                        .orElse(false)) {
                    continue; // its writer may still be running
                }
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

    // ------------------------------------------------------------------ temporary file names
    // .NAME.<pid>-<nonce>-<tag>.tmp where tag = first 8 hex digits of SHA-256(NAME, pid, nonce): a name
    // that merely looks like ours (an editor's or a user's .NAME.something.tmp) does not carry a valid tag

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();
    /** Bytes a temporary name adds to the target's name at most: "." + "." + 19 + "-" + 16 + "-" + 8 + ".tmp". */
    static final int TEMP_NAME_OVERHEAD = 2 + 19 + 1 + 16 + 1 + 8 + 4;
    /** Longest file name (bytes) of common Linux and macOS file systems (ext4, xfs, btrfs, tmpfs, apfs). */
    public static final int MAX_NAME_BYTES = 255;

    /** The temporary name for {@code targetName} written by process {@code pid}; {@code nonce} is 16 hex digits. */
    static String temporaryName(String targetName, long pid, String nonce) {
        return "." + targetName + "." + pid + "-" + nonce + "-" + tag(targetName, pid, nonce) + ".tmp";
    }

    private static String tag(String targetName, long pid, String nonce) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(
                    ("resnext-temporary-file\0" + targetName + "\0" + pid + "\0" + nonce)
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(d, 0, 4);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JVM has SHA-256
        }
    }

    private static final java.util.regex.Pattern TEMP_SUFFIX =
            java.util.regex.Pattern.compile("\\.([0-9]{1,19})-([0-9a-f]{16})-([0-9a-f]{8})\\.tmp");

    /** Whether {@code fileName} is a temporary file that {@link #write} made for a target named {@code targetName}. */
    public static boolean isOurTemporaryFile(String fileName, String targetName) {
        String prefix = "." + targetName;
        if (!fileName.startsWith(prefix)) return false;
        java.util.regex.Matcher m = TEMP_SUFFIX.matcher(fileName.substring(prefix.length()));
        if (!m.matches()) return false;
        try {
            return tag(targetName, Long.parseLong(m.group(1)), m.group(2)).equals(m.group(3));
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static long writerPid(String fileName, String targetName) {
        java.util.regex.Matcher m = TEMP_SUFFIX.matcher(fileName.substring(targetName.length() + 1));
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /**
     * Checks, creating nothing, that {@code target} can get the names a write needs: its file name and
     * the temporary file's (longer) name within {@link #MAX_NAME_BYTES}, and every folder name too.
     *
     * @throws ResNeXtException naming the part that is too long
     */
    public static void checkNameLengths(Path target) {
        Path abs = target.toAbsolutePath().normalize();
        for (Path part : abs) {
            int bytes = part.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            if (bytes > MAX_NAME_BYTES) {
                throw new ResNeXtException("the name " + part + " is too long (" + bytes + " bytes; file systems allow "
                        + MAX_NAME_BYTES + ")");
            }
        }
        String name = abs.getFileName().toString();
        int bytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes + TEMP_NAME_OVERHEAD > MAX_NAME_BYTES) {
            throw new ResNeXtException("the file name " + name + " is too long (" + bytes + " bytes; at most "
                    + (MAX_NAME_BYTES - TEMP_NAME_OVERHEAD) + ", as it is first written under a longer temporary name)");
        }
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
