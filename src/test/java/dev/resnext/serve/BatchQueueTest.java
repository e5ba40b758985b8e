package dev.resnext.serve;

import dev.resnext.api.Prediction;
import dev.resnext.eval.TestTimeAugmentation;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The batching queue with a fake network: gathering, ordering, faults and back-pressure. */
class BatchQueueTest {
    private static final List<String> LABELS = List.of("a", "b");
    private static final long WAIT = TimeUnit.MILLISECONDS.toNanos(200);

    /** Answers p(b) = the first input value; records the batch sizes it saw. */
    static final class FakeNetwork implements BatchQueue.Network {
        final List<Integer> batches = Collections.synchronizedList(new ArrayList<>());
        volatile boolean outOfMemory;
        volatile CountDownLatch gate;

        @Override
        public List<Prediction> classify(List<float[]> prepared, TestTimeAugmentation tta) {
            CountDownLatch g = gate;
            if (g != null) {
                try {
                    g.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            batches.add(prepared.size());
            if (outOfMemory) {
                outOfMemory = false;
                throw new OutOfMemoryError("simulated");
            }
            List<Prediction> out = new ArrayList<>();
            for (float[] x : prepared) {
                double p = x[0];
                out.add(Prediction.of(new double[] {1 - p, p}, LABELS));
            }
            return out;
        }
    }

    @Test
    void batchesRunAsPowerOfTwoChunksWithinTheLimit() {
        Object[][] cases = {{1, 16, "1"}, {2, 16, "2"}, {3, 16, "2+1"}, {13, 16, "8+4+1"}, {16, 16, "16"},
                {15, 16, "8+4+2+1"}, {12, 12, "8+4"}, {20, 12, "8+8+4"}, {3, 1, "1+1+1"}};
        for (Object[] c : cases) {
            int n = (Integer) c[0];
            List<int[]> chunks = BatchQueue.chunks(n, (Integer) c[1]);
            List<String> sizes = new ArrayList<>();
            int next = 0;
            for (int[] k : chunks) {
                assertEquals(next, k[0], "contiguous");
                next += k[1];
                sizes.add(Integer.toString(k[1]));
            }
            assertEquals(n, next);
            assertEquals(c[2], String.join("+", sizes), n + " images, limit " + c[1]);
        }
    }

    /**
     * A request the server is still decoding joins the batch being gathered even when it is queued
     * after the batch's own wait; one that is never queued holds the batch at most
     * {@link BatchQueue#ARRIVING_WAIT_NANOS}; without an announcement the plain wait applies.
     */
    @Test
    void requestsBeingDecodedAreWaitedForUpToTheirLimit() throws Exception {
        long shortWait = TimeUnit.MILLISECONDS.toNanos(2);
        FakeNetwork net = new FakeNetwork();
        Arrivals arrivals = new Arrivals();
        try (BatchQueue q = new BatchQueue(net, 8, shortWait, 64, new ServeMetrics(), "t", arrivals, () -> { })) {
            // announced: queued 20 ms after the first request, well after its 2 ms wait
            CompletableFuture<BatchQueue.Scored> a;
            CompletableFuture<BatchQueue.Scored> b;
            try (Arrivals.Arrival arrival = arrivals.arrive()) {
                a = q.classify(new float[] {0.1f}, TestTimeAugmentation.NONE);
                Thread.sleep(20);
                b = q.classify(new float[] {0.2f}, TestTimeAugmentation.NONE);
            }
            assertEquals(2, a.get(5, TimeUnit.SECONDS).batchSize(), "the decoded request joined the batch");
            assertEquals(2, b.get(5, TimeUnit.SECONDS).batchSize());

            // not announced: the first request runs alone after its 2 ms
            CompletableFuture<BatchQueue.Scored> c = q.classify(new float[] {0.3f}, TestTimeAugmentation.NONE);
            Thread.sleep(30);
            CompletableFuture<BatchQueue.Scored> d = q.classify(new float[] {0.4f}, TestTimeAugmentation.NONE);
            assertEquals(1, c.get(5, TimeUnit.SECONDS).batchSize());
            assertEquals(1, d.get(5, TimeUnit.SECONDS).batchSize());

            // announced but never queued (not an image): the batch waits at most the limit
            Arrivals.Arrival lost = arrivals.arrive();
            long t0 = System.nanoTime();
            CompletableFuture<BatchQueue.Scored> e = q.classify(new float[] {0.5f}, TestTimeAugmentation.NONE);
            assertEquals(1, e.get(5, TimeUnit.SECONDS).batchSize());
            double ms = (System.nanoTime() - t0) / 1e6;
            assertTrue(ms >= 45 && ms < 1000, "waited " + ms + " ms for the announced request");
            lost.close();
            lost.close(); // closing twice counts once
            CompletableFuture<BatchQueue.Scored> f = q.classify(new float[] {0.6f}, TestTimeAugmentation.NONE);
            long t1 = System.nanoTime();
            f.get(5, TimeUnit.SECONDS);
            assertTrue((System.nanoTime() - t1) / 1e6 < 40, "nothing announced any more: the plain wait");
        }
    }

    @Test
    void waitingRequestsAreRunAsOneBatchInOrder() throws Exception {
        FakeNetwork net = new FakeNetwork();
        ServeMetrics metrics = new ServeMetrics();
        try (BatchQueue q = new BatchQueue(net, 8, WAIT, 64, metrics, "t")) {
            List<CompletableFuture<BatchQueue.Scored>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                fs.add(q.classify(new float[] {i / 10f}, TestTimeAugmentation.NONE));
            }
            for (int i = 0; i < 8; i++) {
                BatchQueue.Scored s = fs.get(i).get(5, TimeUnit.SECONDS);
                assertEquals(i / 10.0, s.prediction().probabilities()[1], 1e-6);
                assertEquals(8, s.batchSize());
            }
            assertEquals(List.of(8), net.batches);
            assertEquals(1, metrics.batches());
        }
    }

    @Test
    void aBatchNeverExceedsTheLimitAndALoneRequestWaitsAtMostMaxWait() throws Exception {
        FakeNetwork net = new FakeNetwork();
        try (BatchQueue q = new BatchQueue(net, 3, WAIT, 64, new ServeMetrics(), "t")) {
            List<CompletableFuture<BatchQueue.Scored>> fs = new ArrayList<>();
            for (int i = 0; i < 7; i++) fs.add(q.classify(new float[] {0.5f}, TestTimeAugmentation.NONE));
            for (CompletableFuture<BatchQueue.Scored> f : fs) f.get(5, TimeUnit.SECONDS);
            assertEquals(List.of(3, 3, 1), net.batches);
            long start = System.nanoTime();
            q.classify(new float[] {0.5f}, TestTimeAugmentation.NONE).get(5, TimeUnit.SECONDS);
            double ms = (System.nanoTime() - start) / 1e6;
            assertTrue(ms < 2000, "a lone request is answered after the batching wait, took " + ms + " ms");
        }
    }

    @Test
    void differentTestTimeAugmentationsRunAsSeparateBatches() throws Exception {
        FakeNetwork net = new FakeNetwork();
        try (BatchQueue q = new BatchQueue(net, 8, WAIT, 64, new ServeMetrics(), "t")) {
            CompletableFuture<BatchQueue.Scored> a = q.classify(new float[] {0.1f}, TestTimeAugmentation.NONE);
            CompletableFuture<BatchQueue.Scored> b = q.classify(new float[] {0.2f}, TestTimeAugmentation.parse("flip"));
            CompletableFuture<BatchQueue.Scored> c = q.classify(new float[] {0.3f}, TestTimeAugmentation.NONE);
            assertEquals(2, a.get(5, TimeUnit.SECONDS).batchSize());
            assertEquals(1, b.get(5, TimeUnit.SECONDS).batchSize());
            assertEquals(2, c.get(5, TimeUnit.SECONDS).batchSize());
        }
    }

    @Test
    void outOfMemoryFailsOnlyItsBatchAndTheQueueGoesOn() throws Exception {
        FakeNetwork net = new FakeNetwork();
        net.outOfMemory = true;
        try (BatchQueue q = new BatchQueue(net, 4, 0, 64, new ServeMetrics(), "t")) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> q.classify(new float[] {0.4f}, TestTimeAugmentation.NONE).get(5, TimeUnit.SECONDS));
            HttpProblem p = assertInstanceOf(HttpProblem.class, e.getCause());
            assertEquals(503, p.status());
            assertTrue(p.getMessage().contains("out of memory"), p.getMessage());
            assertEquals(0.4, q.classify(new float[] {0.4f}, TestTimeAugmentation.NONE).get(5, TimeUnit.SECONDS)
                    .prediction().probabilities()[1], 1e-6);
        }
    }

    @Test
    void aFullQueueRefusesAtOnceAndExclusiveWorkRunsBetweenBatches() throws Exception {
        FakeNetwork net = new FakeNetwork();
        net.gate = new CountDownLatch(1);
        try (BatchQueue q = new BatchQueue(net, 1, 0, 2, new ServeMetrics(), "t")) {
            CompletableFuture<BatchQueue.Scored> running = q.classify(new float[] {0.1f}, TestTimeAugmentation.NONE);
            Thread.sleep(200); // the worker is now blocked inside the network
            CompletableFuture<BatchQueue.Scored> queued = q.classify(new float[] {0.2f}, TestTimeAugmentation.NONE);
            CompletableFuture<String> exclusive = q.exclusive(() -> "explained");
            HttpProblem full = assertThrows(HttpProblem.class,
                    () -> q.classify(new float[] {0.3f}, TestTimeAugmentation.NONE));
            assertEquals(503, full.status());
            net.gate.countDown();
            assertEquals(0.1, running.get(5, TimeUnit.SECONDS).prediction().probabilities()[1], 1e-6);
            assertEquals(0.2, queued.get(5, TimeUnit.SECONDS).prediction().probabilities()[1], 1e-6);
            assertEquals("explained", exclusive.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void shutdownFinishesWhatIsQueuedAndRefusesNewWork() throws Exception {
        FakeNetwork net = new FakeNetwork();
        BatchQueue q = new BatchQueue(net, 2, WAIT, 64, new ServeMetrics(), "t");
        List<CompletableFuture<BatchQueue.Scored>> fs = new ArrayList<>();
        for (int i = 0; i < 5; i++) fs.add(q.classify(new float[] {0.5f}, TestTimeAugmentation.NONE));
        q.close(10_000);
        for (CompletableFuture<BatchQueue.Scored> f : fs) assertTrue(f.isDone() && !f.isCompletedExceptionally());
        assertEquals(503, assertThrows(HttpProblem.class,
                () -> q.classify(new float[] {0.5f}, TestTimeAugmentation.NONE)).status());
    }
}
