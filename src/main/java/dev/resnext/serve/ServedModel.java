package dev.resnext.serve;

import dev.resnext.ResNeXtException;
import dev.resnext.api.ResNeXtClassifier;
import dev.resnext.explain.GradCam;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.runtime.GraphRuntime;
import dev.resnext.runtime.inference.InferencePlan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One loaded model zip as the server uses it: the classifier (with the zip's calibration and
 * operating point), Grad-CAM when the head allows it, its batching queue, and its identity (file
 * name and SHA-256 of the zip). Counts the requests using it so that a reload can retire it only
 * after its last request has finished.
 */
final class ServedModel {
    private static final Logger log = LoggerFactory.getLogger(ServedModel.class);

    private final Path source;
    private final String sha256;
    private final ResNeXtClassifier classifier;
    private final GradCam gradCam;
    private final String gradCamProblem;
    private final BatchQueue queue;
    private final double loadSeconds;
    private final Instant loadedAt;
    private final AtomicInteger users = new AtomicInteger();
    private volatile boolean retired;

    private ServedModel(Path source, String sha256, LoadedModel model, int maxBatch, long maxWaitNanos, int capacity,
                        ServeMetrics metrics, Arrivals arrivals, double loadSeconds, int generation) {
        this.source = source;
        this.sha256 = sha256;
        this.classifier = ResNeXtClassifier.of(model);
        warmUp(classifier);
        GradCam cam = null;
        String problem = null;
        try {
            cam = GradCam.of(model);
        } catch (ResNeXtException e) {
            problem = e.getMessage();
        }
        this.gradCam = cam;
        this.gradCamProblem = problem;
        this.queue = new BatchQueue(BatchQueue.Network.of(classifier, maxBatch), maxBatch, maxWaitNanos, capacity,
                metrics, Integer.toString(generation), arrivals, () -> GraphRuntime.release(model.graph()));
        this.loadSeconds = loadSeconds;
        this.loadedAt = Instant.now();
    }

    /**
     * Loads and verifies {@code zip} (checksums, format), prepares it for inference at
     * {@code precision}, and starts its batching thread.
     *
     * @throws ResNeXtException when the zip cannot be served (missing, damaged, not a model of ours)
     */
    static ServedModel load(Path zip, InferencePlan.Precision precision, int maxBatch, long maxWaitNanos, int capacity,
                            ServeMetrics metrics, Arrivals arrivals, int generation) {
        long start = System.nanoTime();
        String sha = sha256(zip);
        LoadedModel model = ModelZip.load(zip);
        GraphRuntime.prepare(model.graph(), GraphRuntime.Mode.INFERENCE, precision);
        double seconds = (System.nanoTime() - start) / 1e9;
        ServedModel m = new ServedModel(zip, sha, model, maxBatch, maxWaitNanos, capacity, metrics, arrivals, seconds,
                generation);
        log.info("loaded {} (sha256 {}, {} classes) in {} s", zip.getFileName(), sha.substring(0, 12),
                m.classifier.labels().size(), String.format(java.util.Locale.ROOT, "%.2f", seconds));
        return m;
    }

    /**
     * One forward pass on a blank image before the model takes requests: the runtime compiles its
     * inference plan now rather than in the first user's request (about a second for ResNeXt-50),
     * and a model that cannot run is refused before it replaces the one serving.
     */
    private static void warmUp(ResNeXtClassifier classifier) {
        var shape = classifier.inputShape();
        try {
            classifier.classifyPrepared(java.util.List.of(new float[shape.channels() * shape.height() * shape.width()]));
        } catch (RuntimeException e) {
            throw new ResNeXtException("the model failed its first forward pass: " + e.getMessage(), e);
        }
    }

    private static String sha256(Path zip) {
        try (InputStream in = Files.newInputStream(zip)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new ResNeXtException("cannot read model " + zip + ": " + e.getMessage());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Registers a request; false when the model was retired meanwhile (use the current one). */
    boolean acquire() {
        users.incrementAndGet();
        if (retired) {
            release();
            return false;
        }
        return true;
    }

    void release() {
        if (users.decrementAndGet() == 0 && retired) {
            closeQueue();
        }
    }

    /** No new requests; the queue stops once the requests using this model have finished. */
    void retire() {
        retired = true;
        if (users.get() == 0) {
            closeQueue();
        }
    }

    private void closeQueue() {
        queue.shutdown();
    }

    ResNeXtClassifier classifier() {
        return classifier;
    }

    ModelMetadata metadata() {
        return classifier.metadata();
    }

    /** Grad-CAM for this model, or null when its head does not allow it (see {@link #gradCamProblem()}). */
    GradCam gradCam() {
        return gradCam;
    }

    String gradCamProblem() {
        return gradCamProblem;
    }

    BatchQueue queue() {
        return queue;
    }

    Path source() {
        return source;
    }

    String sha256() {
        return sha256;
    }

    double loadSeconds() {
        return loadSeconds;
    }

    Instant loadedAt() {
        return loadedAt;
    }

    /** The model's name: its zip's file name without ".zip". */
    String name() {
        String n = source.getFileName().toString();
        return n.endsWith(".zip") ? n.substring(0, n.length() - 4) : n;
    }
}
