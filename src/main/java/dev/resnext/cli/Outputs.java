package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.io.AtomicFiles;
import dev.resnext.train.MetricsFiles;
import dev.resnext.train.Trainer;
import dev.resnext.train.TrainingOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Checks on the files a training job writes, made before any work: a job that cannot write its
 * model should fail in its first second, not after the first epoch, and create nothing.
 */
final class Outputs {
    private static final Logger log = LoggerFactory.getLogger(Outputs.class);

    private Outputs() {
    }

    /** The model zip, its metrics files and the checkpoint. */
    static List<Path> files(TrainingOptions o) {
        return List.of(o.out(), MetricsFiles.sibling(o.out(), ".metrics.csv"),
                MetricsFiles.sibling(o.out(), ".metrics.json"), MetricsFiles.sibling(o.out(), ".curves.png"),
                o.checkpointDir().resolve(Trainer.CHECKPOINT));
    }

    /** Fails with one line when the model zip or the checkpoint could not be written; creates nothing. */
    static void checkWritable(TrainingOptions o) {
        Path out = o.out().toAbsolutePath().normalize();
        if (Files.isDirectory(out)) {
            throw new ResNeXtException("--out " + o.out() + " is a folder; give the model zip's file name, "
                    + "e.g. " + o.out().resolve("model.zip"));
        }
        checkFolder(out.getParent(), "--out");
        checkFolder(o.checkpointDir().toAbsolutePath().normalize(), "--checkpoint-dir");
    }

    /** {@code dir} exists and is writable, or could be created (its nearest existing ancestor is a writable folder). */
    static void checkFolder(Path dir, String option) {
        Path existing = dir;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return;
        }
        if (!Files.isDirectory(existing)) {
            throw new ResNeXtException(option + ": cannot create folder " + dir + " because " + existing
                    + " is a file");
        }
        if (!Files.isWritable(existing)) {
            throw new ResNeXtException(option + ": cannot write to " + existing + " (read-only folder)");
        }
    }

    /** Removes temporary files that a killed earlier run left beside the outputs. */
    static void removeLeftovers(TrainingOptions o) {
        int n = 0;
        for (Path f : files(o)) {
            n += AtomicFiles.removeLeftovers(f);
        }
        if (n > 0) {
            log.info("removed {} temporary files left by an interrupted run", n);
        }
    }
}
