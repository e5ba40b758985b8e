package dev.resnext.spark;

import dev.resnext.api.ResNeXtClassifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The model of a scoring job, loaded at most once per executor JVM: the zip arrives as a broadcast
 * (fetched once per executor by Spark), is written to a local file and opened with
 * {@link ResNeXtClassifier}, which verifies its checksums and prepares its network exactly as
 * {@code resnext predict} does. Later tasks on the same executor reuse the loaded classifier
 * (it is safe for concurrent use).
 */
final class ExecutorModel {
    private static final Logger log = LoggerFactory.getLogger(ExecutorModel.class);
    private static final Map<String, ResNeXtClassifier> LOADED = new HashMap<>();

    private ExecutorModel() {
    }

    /** The classifier of the zip with SHA-256 {@code sha256}, loading it from {@code zip} the first time. */
    static synchronized ResNeXtClassifier get(String sha256, byte[] zip) {
        ResNeXtClassifier clf = LOADED.get(sha256);
        if (clf == null) {
            long t0 = System.nanoTime();
            try {
                Path file = Files.createTempFile("resnext-model-", ".zip");
                file.toFile().deleteOnExit();
                Files.write(file, zip);
                clf = ResNeXtClassifier.load(file);
                Files.deleteIfExists(file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            LOADED.put(sha256, clf);
            log.info("loaded model {} (sha256 {}) on this executor in {} ms", clf.metadata().config().getName(),
                    sha256.substring(0, 12), (System.nanoTime() - t0) / 1_000_000);
        }
        return clf;
    }
}
