package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.io.AtomicFiles;
import dev.resnext.io.RunOutputs;
import dev.resnext.train.MetricsFiles;
import dev.resnext.train.Trainer;
import dev.resnext.train.TrainingOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The output-path planner of the commands that write files (train, finetune, evaluate, explain):
 * every file a command will write is listed and checked before any work (a job that cannot write its
 * outputs should fail in its first second, not after the first epoch or the last image, and create
 * nothing), and the same list is handed to {@link RunOutputs}, which removes a failed or
 * interrupted (SIGINT/SIGTERM) run's outputs. The files themselves are written temp-then-rename by
 * {@link AtomicFiles}.
 */
final class Outputs {
    private static final Logger log = LoggerFactory.getLogger(Outputs.class);

    private Outputs() {
    }

    /** The model zip, its metrics files and the checkpoint(s); {@code phases} are sub-folders of the checkpoint folder. */
    static List<Path> files(TrainingOptions o, String... phases) {
        List<Path> files = new ArrayList<>(List.of(o.out(), MetricsFiles.sibling(o.out(), ".metrics.csv"),
                MetricsFiles.sibling(o.out(), ".metrics.json"), MetricsFiles.sibling(o.out(), ".curves.png")));
        files.addAll(checkpoints(o, phases));
        return files.stream().map(p -> p.toAbsolutePath().normalize()).toList();
    }

    static List<Path> checkpoints(TrainingOptions o, String... phases) {
        Path dir = o.checkpointDir().toAbsolutePath().normalize();
        if (phases.length == 0) return List.of(dir.resolve(Trainer.CHECKPOINT));
        List<Path> list = new ArrayList<>();
        for (String p : phases) list.add(dir.resolve(p).resolve(Trainer.CHECKPOINT));
        return list;
    }

    /**
     * Fails with one line when any output could not be written; creates nothing. Checks: the model
     * zip is not a folder, no two outputs are the same path or inside one another (e.g. the
     * checkpoint folder equal to the model zip), every name fits the file system (with the longer
     * temporary name), and every folder exists and is writable or can be created.
     */
    static void checkWritable(TrainingOptions o, String... phases) {
        Path out = o.out().toAbsolutePath().normalize();
        Path ckDir = o.checkpointDir().toAbsolutePath().normalize();
        if (Files.isDirectory(out)) {
            throw new ResNeXtException("--out " + o.out() + " is a folder; give the model zip's file name, "
                    + "e.g. " + o.out().resolve("model.zip"));
        }
        if (ckDir.equals(out)) {
            throw new ResNeXtException("--checkpoint-dir " + o.checkpointDir() + " and --out " + o.out()
                    + " name the same path; give the checkpoints their own folder");
        }
        if (ckDir.startsWith(out)) {
            throw new ResNeXtException("--checkpoint-dir " + o.checkpointDir() + " is inside --out " + o.out()
                    + ", which is the model zip's file name; give the checkpoints their own folder");
        }
        List<Path> files = files(o, phases);
        for (int i = 0; i < files.size(); i++) {
            Path f = files.get(i);
            String option = i < 4 ? "--out" : "--checkpoint-dir";
            for (int j = 0; j < files.size(); j++) {
                if (i != j && (files.get(j).equals(f) || files.get(j).startsWith(f))) {
                    throw new ResNeXtException(option + ": " + f + " would be written twice (it is also "
                            + files.get(j) + "); give --out and --checkpoint-dir different names");
                }
            }
            checkFile(f, option);
        }
        checkFolder(out.getParent(), "--out");
        checkFolder(ckDir, "--checkpoint-dir");
    }

    /**
     * Fails with one line, naming {@code option}, when any of {@code files} could not be written;
     * creates nothing. The same checks as for a training job: no file is a folder or named twice,
     * every name fits the file system, every folder is writable or can be created.
     */
    static void checkWritable(String option, List<Path> files) {
        List<Path> abs = files.stream().map(p -> p.toAbsolutePath().normalize()).toList();
        java.util.Set<Path> folders = new java.util.LinkedHashSet<>();
        for (int i = 0; i < abs.size(); i++) {
            Path f = abs.get(i);
            for (int j = 0; j < i; j++) {
                if (abs.get(j).equals(f) || abs.get(j).startsWith(f) || f.startsWith(abs.get(j))) {
                    throw new ResNeXtException(option + ": " + f + " would be written twice (it is also "
                            + abs.get(j) + ")");
                }
            }
            checkFile(f, option);
            folders.add(f.getParent());
        }
        for (Path d : folders) {
            checkFolder(d, option);
        }
    }

    private static void checkFile(Path f, String option) {
        if (Files.isDirectory(f)) {
            throw new ResNeXtException(option + ": cannot write " + f + " because it is a folder");
        }
        try {
            AtomicFiles.checkNameLengths(f);
        } catch (ResNeXtException e) {
            throw new ResNeXtException(option + ": " + e.getMessage());
        }
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

    /** Converts --out: a trailing '/' means a folder, which a model zip cannot be (Path.of drops the '/'). */
    static final class FileName implements picocli.CommandLine.ITypeConverter<Path> {
        @Override
        public Path convert(String value) {
            if (value.isBlank()) {
                throw new picocli.CommandLine.TypeConversionException("empty file name");
            }
            if (value.endsWith("/") || value.endsWith(java.io.File.separator)) {
                throw new picocli.CommandLine.TypeConversionException("'" + value + "' ends with '/'; give the model "
                        + "zip's file name, e.g. " + value + "model.zip");
            }
            try {
                return Path.of(value);
            } catch (java.nio.file.InvalidPathException e) {
                throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not a valid path: "
                        + e.getReason());
            }
        }
    }

    /** Runs a training job's {@code work} as a run that writes its model, metrics and checkpoints ({@link #writing}). */
    static <T> T writing(TrainingOptions o, Supplier<T> work, String... phases) {
        return writing(files(o, phases), checkpoints(o, phases), work);
    }

    /**
     * Runs {@code work}, which writes (some of) {@code files}: first removes the temporary files a
     * killed earlier run left beside them; then, if the work fails or the process is stopped by a
     * signal before it ends, removes the files and folders it created, unless one of
     * {@code resumable} exists (a checkpoint: then the outputs are a state to resume from). Files
     * that existed before are never removed (they are replaced atomically, so each is complete).
     */
    static <T> T writing(List<Path> files, List<Path> resumable, Supplier<T> work) {
        removeLeftovers(files);
        RunOutputs outputs = RunOutputs.begin(files, resumable);
        T result;
        try {
            result = work.get();
        } catch (RuntimeException | Error e) {
            outputs.failed();
            throw e;
        }
        outputs.succeeded();
        return result;
    }

    /** Removes temporary files that a killed earlier run left beside the outputs. */
    static void removeLeftovers(List<Path> files) {
        int n = 0;
        for (Path f : files) {
            n += AtomicFiles.removeLeftovers(f);
        }
        if (n > 0) {
            log.info("removed {} temporary files left by an interrupted run", n);
        }
    }

    /**
     * Every path a command reports on success must exist: checks the values of {@code summary}
     * under {@code keys} (a missing one is a bug or a broken promise, not something to print).
     */
    static void checkReported(Map<String, Object> summary, String... keys) {
        for (String k : keys) {
            Object v = summary.get(k);
            if (v != null && !Files.exists(Path.of(v.toString()))) {
                throw new ResNeXtException("the " + k + " file " + v + " was not written");
            }
        }
    }
}
