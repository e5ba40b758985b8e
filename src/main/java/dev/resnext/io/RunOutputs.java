package dev.resnext.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The outputs of one run, so that a run that fails, or is stopped by a signal, before it has
 * reached a resumable state leaves nothing behind: the files it created (those that did not exist
 * when it began) and the folders it created (when empty) are removed. Files that existed before
 * the run are never removed: they were replaced atomically, so each is a complete version.
 *
 * <p>Once one of the {@code resumable} files (a checkpoint) exists, a failure keeps everything:
 * the outputs are then a state that can be resumed, and removing them would lose finished epochs.
 */
public final class RunOutputs {
    private final List<Path> created = new ArrayList<>();
    private final List<Path> createdFolders = new ArrayList<>();
    private final List<Path> resumable;
    private final ExitCleanup.Registration registration;
    private boolean finished;

    private RunOutputs(List<Path> files, List<Path> resumable) {
        this.resumable = List.copyOf(resumable);
        Set<Path> folders = new LinkedHashSet<>();
        for (Path f : files) {
            Path abs = f.toAbsolutePath().normalize();
            if (!Files.exists(abs)) created.add(abs);
            for (Path p = abs.getParent(); p != null && !Files.exists(p); p = p.getParent()) {
                folders.add(p);
            }
        }
        createdFolders.addAll(folders);
        // deepest first, so that a parent is tried after its children
        createdFolders.sort((a, b) -> b.getNameCount() - a.getNameCount());
        this.registration = ExitCleanup.register(this::rollBack);
    }

    /**
     * Records which of {@code files} (and their folders) do not exist yet; call before the run
     * writes anything.
     *
     * @param resumable files whose presence makes the outputs a resumable state (checkpoints)
     */
    public static RunOutputs begin(List<Path> files, List<Path> resumable) {
        return new RunOutputs(files, resumable);
    }

    /** The run finished: keep its outputs. */
    public synchronized void succeeded() {
        finished = true;
        registration.close();
    }

    /** The run failed: remove what it created unless it reached a resumable state. */
    public synchronized void failed() {
        if (finished) return;
        finished = true;
        registration.close();
        rollBack();
    }

    private void rollBack() {
        for (Path r : resumable) {
            if (Files.exists(r)) {
                removeEmptyFolders();
                return;
            }
        }
        for (Path f : created) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException ignored) {
                // best effort
            }
        }
        removeEmptyFolders();
    }

    private void removeEmptyFolders() {
        for (Path d : createdFolders) {
            try {
                Files.deleteIfExists(d); // refused (and kept) when not empty
            } catch (IOException ignored) {
                // not empty, or already gone
            }
        }
    }
}
