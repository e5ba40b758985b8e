package dev.resnext.io;

import dev.resnext.ResNeXtException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Faults while saving: a full disk, an unwritable folder, and temporary files of killed runs. */
class AtomicFilesTest {
    @TempDir
    Path dir;

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aFullDiskIsNamedAndThePreviousFileStays() throws IOException {
        Path f = dir.resolve("m.zip");
        AtomicFiles.writeString(f, "version 1");
        ResNeXtException e = assertThrows(ResNeXtException.class, () -> AtomicFiles.write(f, out -> {
            out.write(new byte[4096]);
            throw new IOException("No space left on device");
        }));
        assertTrue(e.getMessage().contains("cannot write " + f.toAbsolutePath()), e.getMessage());
        assertTrue(e.getMessage().contains("no space left on device"), e.getMessage());
        assertTrue(e.getMessage().contains("previous version is intact"), e.getMessage());
        assertEquals("version 1", Files.readString(f));
        assertEquals(List.of("m.zip"), names(), "temporary file removed");
    }

    @Test
    void aFailedFirstWriteLeavesNoFolderItCreated() throws IOException {
        Path f = dir.resolve("a/b/c/m.zip");
        assertThrows(ResNeXtException.class, () -> AtomicFiles.write(f, out -> {
            throw new IOException("No space left on device");
        }));
        assertEquals(List.of(), names());
    }

    @Test
    void aParentThatIsAFileIsNamed() throws IOException {
        Path file = dir.resolve("plain");
        Files.writeString(file, "x");
        ResNeXtException e = assertThrows(ResNeXtException.class,
                () -> AtomicFiles.writeString(file.resolve("m.zip"), "y"));
        assertTrue(e.getMessage().contains("cannot create folder " + file.toAbsolutePath()), e.getMessage());
        assertEquals("x", Files.readString(file));
    }

    /** A process id that no running process has (a killed writer's). */
    static long deadPid() {
        for (long pid = 4_000_000; pid > 1000; pid--) {
            if (ProcessHandle.of(pid).isEmpty()) return pid;
        }
        throw new IllegalStateException("no free pid");
    }

    @Test
    void leftoversOfKilledWritersAreRemovedButNotFilesInUseNorLookalikes() throws IOException {
        Path target = dir.resolve("m.zip");
        AtomicFiles.writeString(target, "model");
        long dead = deadPid();
        Path stale = dir.resolve(AtomicFiles.temporaryName("m.zip", dead, "00000000000000aa"));
        Path stale2 = dir.resolve(AtomicFiles.temporaryName("m.zip", dead, "00000000000000bb"));
        Path inUse = dir.resolve(AtomicFiles.temporaryName("m.zip", dead, "00000000000000cc"));
        Path live = dir.resolve(AtomicFiles.temporaryName("m.zip", ProcessHandle.current().pid(), "00000000000000dd"));
        // names that merely look like ours: a user's or an editor's file, a forged tag, another target's
        Path lookalike = dir.resolve(".m.zip.123.tmp");
        Path forged = dir.resolve(".m.zip." + dead + "-00000000000000ee-00000000.tmp");
        Path other = dir.resolve(AtomicFiles.temporaryName("other.zip", dead, "00000000000000ff"));
        for (Path p : List.of(stale, stale2, inUse, live, lookalike, forged, other)) Files.writeString(p, "partial");
        try (FileChannel ch = FileChannel.open(inUse, StandardOpenOption.WRITE); FileLock lock = ch.lock()) {
            assertNotNull(lock);
            assertEquals(2, AtomicFiles.removeLeftovers(target));
        }
        assertFalse(Files.exists(stale));
        assertFalse(Files.exists(stale2));
        for (Path kept : List.of(inUse, live, lookalike, forged, other)) assertTrue(Files.exists(kept), kept.toString());
        assertEquals("model", Files.readString(target));
        assertEquals(0, AtomicFiles.removeLeftovers(dir.resolve("missing/m.zip")));
        assertTrue(AtomicFiles.isOurTemporaryFile(stale.getFileName().toString(), "m.zip"));
        assertFalse(AtomicFiles.isOurTemporaryFile(forged.getFileName().toString(), "m.zip"));
        assertFalse(AtomicFiles.isOurTemporaryFile(stale.getFileName().toString(), "n.zip"));
    }

    @Test
    void namesTooLongForTheFileSystemAreFoundWithoutWriting() {
        String longest = "m".repeat(AtomicFiles.MAX_NAME_BYTES - AtomicFiles.TEMP_NAME_OVERHEAD);
        AtomicFiles.checkNameLengths(dir.resolve(longest));
        ResNeXtException e = assertThrows(ResNeXtException.class,
                () -> AtomicFiles.checkNameLengths(dir.resolve(longest + "x")));
        assertTrue(e.getMessage().contains("too long"), e.getMessage());
        // multi-byte characters count as bytes, as the file system counts them
        assertThrows(ResNeXtException.class, () -> AtomicFiles.checkNameLengths(dir.resolve("é".repeat(120) + ".zip")));
        assertThrows(ResNeXtException.class, () -> AtomicFiles.checkNameLengths(dir.resolve("d".repeat(256)).resolve("m.zip")));
        assertEquals(0, ExitCleanup.pending(), "a finished write leaves no clean-up registered");
    }
}
