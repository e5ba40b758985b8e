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

    @Test
    void leftoversOfKilledWritersAreRemovedButNotFilesInUse() throws IOException {
        Path target = dir.resolve("m.zip");
        AtomicFiles.writeString(target, "model");
        Path stale = dir.resolve(".m.zip.123.tmp");
        Path inUse = dir.resolve(".m.zip.456.tmp");
        Path other = dir.resolve(".other.zip.1.tmp");
        for (Path p : List.of(stale, inUse, other)) Files.writeString(p, "partial");
        try (FileChannel ch = FileChannel.open(inUse, StandardOpenOption.WRITE); FileLock lock = ch.lock()) {
            assertNotNull(lock);
            assertEquals(1, AtomicFiles.removeLeftovers(target));
        }
        assertEquals(List.of(".m.zip.456.tmp", ".other.zip.1.tmp", "m.zip"), names());
        assertEquals("model", Files.readString(target));
        assertEquals(0, AtomicFiles.removeLeftovers(dir.resolve("missing/m.zip")));
    }
}
