package dev.resnext.serve;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Requests the server has started to receive or decode and will queue for the network moments
 * later. The batching queues wait for them (up to a limit) before closing a batch; see
 * {@link BatchQueue}. One per server, shared by the model serving and one being loaded beside it.
 */
final class Arrivals {
    private final AtomicInteger count = new AtomicInteger();

    /** Announces one request; close the handle once it is queued, or when it turned out unusable. */
    Arrival arrive() {
        count.incrementAndGet();
        return new Arrival();
    }

    /** Requests announced and not yet queued or given up. */
    int count() {
        return count.get();
    }

    /** One announced request; closing it (once; later closes do nothing) ends the announcement. */
    final class Arrival implements AutoCloseable {
        private boolean closed;

        private Arrival() {
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                count.decrementAndGet();
            }
        }
    }
}
