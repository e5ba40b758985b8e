package dev.resnext.serve;

import dev.resnext.api.Prediction;
import dev.resnext.api.ResNeXtClassifier;
import dev.resnext.eval.TestTimeAugmentation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Dynamic batching: requests of many HTTP threads are gathered into one forward pass.
 *
 * <p>One worker thread owns the network (a DL4J graph must not run in two threads at once). It takes
 * the oldest waiting request, then every request already waiting, then waits at most {@code maxWait}
 * for more until {@code maxBatch} are gathered, and runs them as one batch (one batch per test-time
 * augmentation asked for). Requests that the server has already received and is decoding
 * ({@link Arrivals}) are waited for beyond {@code maxWait}, up to {@link #ARRIVING_WAIT_NANOS}: they
 * are moments away, and a batch closed without them leaves them for a batch of their own. Under
 * load this is what keeps batches full: when a batch answers its clients, their next requests
 * arrive together but are decoded one after the other, over longer than a few milliseconds. Other
 * work on the network (Grad-CAM) runs between batches on the same thread. The queue is bounded: when it is full a request is refused at once (HTTP 503) instead of
 * piling up memory.
 *
 * <p>Why not DL4J's {@code ParallelInference}: it runs replicas of the network, which multiplies the
 * memory by the number of workers and bypasses the runtime's inference plan; on a CPU every core is
 * already used by one forward pass, so one worker with large batches is the faster use of them.
 */
final class BatchQueue implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BatchQueue.class);

    /** The answer for one image and what its batch was like. */
    record Scored(Prediction prediction, int batchSize, double queueMillis, double inferenceMillis) {
    }

    private sealed interface Task permits Classify, Exclusive {
    }

    private record Classify(float[] input, TestTimeAugmentation tta, long enqueuedNanos,
                            CompletableFuture<Scored> result) implements Task {
    }

    private record Exclusive(Supplier<?> work, CompletableFuture<Object> result) implements Task {
    }

    /** What the queue runs: a forward pass over prepared images (one thread calls it at a time). */
    @FunctionalInterface
    interface Network {
        List<Prediction> classify(List<float[]> prepared, TestTimeAugmentation tta);

        /**
         * The classifier's network, with one derived classifier per test-time augmentation asked for.
         * A batch runs as chunks whose sizes are powers of two (13 images: 8, 4 and 1): the runtime
         * compiles one plan per input shape, so a server that ran every size from 1 to 16 would keep
         * compiling, and padding 9 images to 16 would waste 7 images' compute. On a CPU a ResNeXt
         * runs about as many images per second in batches of 1 to 16, so the chunks cost little.
         */
        static Network of(ResNeXtClassifier classifier, int maxBatch) {
            Map<TestTimeAugmentation, ResNeXtClassifier> byTta = new java.util.concurrent.ConcurrentHashMap<>();
            return (prepared, tta) -> {
                ResNeXtClassifier clf = tta == null || tta.viewCount() <= 1 ? classifier
                        : byTta.computeIfAbsent(tta, classifier::withTta);
                List<Prediction> out = new ArrayList<>(prepared.size());
                for (int[] c : chunks(prepared.size(), maxBatch)) {
                    out.addAll(clf.classifyPrepared(prepared.subList(c[0], c[0] + c[1])));
                }
                return out;
            };
        }
    }

    /** {@code [from, size]} chunks covering {@code n} images, each a power of two of at most {@code maxBatch}. */
    static List<int[]> chunks(int n, int maxBatch) {
        List<int[]> out = new ArrayList<>();
        for (int from = 0; from < n; ) {
            int size = Integer.highestOneBit(Math.min(n - from, maxBatch));
            out.add(new int[] {from, size});
            from += size;
        }
        return out;
    }

    /** Longest a batch waits for requests being decoded (when {@code maxWait} is not 0). */
    static final long ARRIVING_WAIT_NANOS = 50_000_000L;

    private final Network network;
    private final Arrivals arrivals;
    private final int maxBatch;
    private final long maxWaitNanos;
    private final BlockingQueue<Task> queue;
    private final ServeMetrics metrics;
    private final Thread worker;
    private final Runnable afterStop;
    private volatile boolean closing;

    BatchQueue(Network network, int maxBatch, long maxWaitNanos, int capacity, ServeMetrics metrics,
               String name) {
        this(network, maxBatch, maxWaitNanos, capacity, metrics, name, new Arrivals(), () -> { });
    }

    /**
     * @param arrivals  requests being received or decoded, which a batch waits for
     * @param afterStop run on the worker thread when it ends (frees what the network holds)
     */
    BatchQueue(Network network, int maxBatch, long maxWaitNanos, int capacity, ServeMetrics metrics,
               String name, Arrivals arrivals, Runnable afterStop) {
        this.arrivals = arrivals;
        this.afterStop = afterStop;
        this.network = network;
        this.maxBatch = maxBatch;
        this.maxWaitNanos = maxWaitNanos;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.metrics = metrics;
        this.worker = new Thread(this::work, "resnext-batch-" + name);
        this.worker.setDaemon(true);
        this.worker.start();
    }

    /** Queues one prepared image; the future fails with {@link HttpProblem} when it cannot be scored. */
    CompletableFuture<Scored> classify(float[] prepared, TestTimeAugmentation tta) {
        CompletableFuture<Scored> f = new CompletableFuture<>();
        offer(new Classify(prepared, tta, System.nanoTime(), f));
        return f;
    }

    /** Runs {@code work} on the network's thread between batches. */
    @SuppressWarnings("unchecked")
    <T> CompletableFuture<T> exclusive(Supplier<T> work) {
        CompletableFuture<Object> f = new CompletableFuture<>();
        offer(new Exclusive(work, f));
        return (CompletableFuture<T>) (CompletableFuture<?>) f;
    }

    private void offer(Task t) {
        if (closing) {
            throw new HttpProblem(503, "the model is being unloaded; retry");
        }
        if (!queue.offer(t)) {
            throw new HttpProblem(503, "server busy: " + queue.size() + " requests are waiting; retry later");
        }
        metrics.queueDepth(queue.size());
    }

    /** Requests waiting for the network. */
    int depth() {
        return queue.size();
    }

    private void work() {
        List<Classify> batch = new ArrayList<>(maxBatch);
        Task pending = null;
        while (true) {
            Task first;
            try {
                first = pending != null ? pending : queue.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            pending = null;
            if (first == null) {
                if (closing && queue.isEmpty()) break;
                continue;
            }
            if (first instanceof Exclusive x) {
                runExclusive(x);
                continue;
            }
            batch.clear();
            batch.add((Classify) first);
            long now = System.nanoTime();
            long deadline = now + maxWaitNanos;
            long arrivingDeadline = maxWaitNanos == 0 ? deadline : now + Math.max(maxWaitNanos, ARRIVING_WAIT_NANOS);
            while (batch.size() < maxBatch) {
                Task next = queue.poll();
                if (next == null) {
                    boolean expecting = arrivals.count() > 0;
                    long left = (expecting ? arrivingDeadline : deadline) - System.nanoTime();
                    if (left <= 0) break;
                    try {
                        // while requests are being decoded, look again every millisecond: one that
                        // fails to decode is never queued, and then the plain deadline applies
                        next = queue.poll(expecting ? Math.min(left, 1_000_000L) : left, TimeUnit.NANOSECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                    if (next == null) continue;
                }
                if (next instanceof Exclusive) {
                    pending = next; // after this batch, in arrival order
                    break;
                }
                batch.add((Classify) next);
            }
            metrics.queueDepth(queue.size());
            runBatch(batch);
            if (Thread.currentThread().isInterrupted()) break;
        }
        failRemaining();
        try {
            afterStop.run();
        } catch (RuntimeException e) {
            log.warn("releasing the model: {}", e.toString());
        }
    }

    private void runExclusive(Exclusive x) {
        try {
            x.result().complete(x.work().get());
        } catch (OutOfMemoryError e) {
            x.result().completeExceptionally(new HttpProblem(503, "out of memory while serving this request"));
        } catch (RuntimeException e) {
            x.result().completeExceptionally(e);
        }
    }

    private void runBatch(List<Classify> batch) {
        Map<TestTimeAugmentation, List<Classify>> groups = new LinkedHashMap<>();
        for (Classify c : batch) {
            groups.computeIfAbsent(c.tta(), k -> new ArrayList<>()).add(c);
        }
        for (Map.Entry<TestTimeAugmentation, List<Classify>> g : groups.entrySet()) {
            List<Classify> items = g.getValue();
            long start = System.nanoTime();
            try {
                List<float[]> inputs = new ArrayList<>(items.size());
                for (Classify c : items) inputs.add(c.input());
                List<Prediction> preds = network.classify(inputs, g.getKey());
                long end = System.nanoTime();
                metrics.batch(items.size(), (end - start) / 1e9);
                for (int i = 0; i < items.size(); i++) {
                    Classify c = items.get(i);
                    c.result().complete(new Scored(preds.get(i), items.size(), (start - c.enqueuedNanos()) / 1e6,
                            (end - start) / 1e6));
                }
            } catch (OutOfMemoryError e) {
                fail(items, new HttpProblem(503, "out of memory while running a batch of " + items.size()
                        + " images; retry, or start the server with a smaller batch limit"));
            } catch (RuntimeException e) {
                log.error("batch of {} failed", items.size(), e);
                fail(items, new HttpProblem(500, "the model failed on this batch: " + e.getMessage()));
            }
        }
    }

    private static void fail(List<Classify> items, RuntimeException e) {
        for (Classify c : items) c.result().completeExceptionally(e);
    }

    private void failRemaining() {
        Task t;
        while ((t = queue.poll()) != null) {
            HttpProblem p = new HttpProblem(503, "the server is stopping");
            if (t instanceof Classify c) c.result().completeExceptionally(p);
            else if (t instanceof Exclusive x) x.result().completeExceptionally(p);
        }
    }

    /** Stops taking requests; the worker finishes every queued one, then ends (does not wait). */
    void shutdown() {
        closing = true;
    }

    /** {@link #shutdown()}, then waits at most {@code timeoutMillis} for the worker to end. */
    @Override
    public void close() {
        close(30_000);
    }

    void close(long timeoutMillis) {
        shutdown();
        try {
            worker.join(timeoutMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (worker.isAlive()) {
            worker.interrupt();
        }
    }
}
