package dev.resnext.serve;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * The server's counters, gauges and histograms, written in the Prometheus text exposition format
 * (version 0.0.4) by {@link #render}. Kept by hand: a dozen series do not need a metrics library.
 */
final class ServeMetrics {
    private static final double[] LATENCY_BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    private static final double[] BATCH_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128};

    /** A cumulative histogram. */
    private static final class Histogram {
        final double[] bounds;
        final LongAdder[] counts;
        final DoubleAdder sum = new DoubleAdder();
        final LongAdder count = new LongAdder();

        Histogram(double[] bounds) {
            this.bounds = bounds;
            this.counts = new LongAdder[bounds.length];
            for (int i = 0; i < bounds.length; i++) counts[i] = new LongAdder();
        }

        void observe(double v) {
            for (int i = 0; i < bounds.length; i++) {
                if (v <= bounds[i]) counts[i].increment();
            }
            sum.add(v);
            count.increment();
        }

        void render(StringBuilder out, String name, String labels) {
            String sep = labels.isEmpty() ? "" : labels + ",";
            for (int i = 0; i < bounds.length; i++) {
                out.append(name).append("_bucket{").append(sep).append("le=\"").append(num(bounds[i])).append("\"} ")
                        .append(counts[i].sum()).append('\n');
            }
            out.append(name).append("_bucket{").append(sep).append("le=\"+Inf\"} ").append(count.sum()).append('\n');
            String l = labels.isEmpty() ? "" : "{" + labels + "}";
            out.append(name).append("_sum").append(l).append(' ').append(num(sum.sum())).append('\n');
            out.append(name).append("_count").append(l).append(' ').append(count.sum()).append('\n');
        }
    }

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<String, Histogram> latency = new ConcurrentHashMap<>();
    private final Histogram batchSizes = new Histogram(BATCH_BUCKETS);
    private final Histogram batchSeconds = new Histogram(LATENCY_BUCKETS);
    private final LongAdder images = new LongAdder();
    private final AtomicLong queueDepth = new AtomicLong();
    private final AtomicLong inFlight = new AtomicLong();
    private final Map<String, LongAdder> reloads = new ConcurrentHashMap<>();
    private volatile double modelLoadSeconds;
    private volatile String modelInfo = "";

    /** Counts a finished request and its latency; {@code endpoint} is a known route or "other". */
    void request(String endpoint, int status, double seconds) {
        requests.computeIfAbsent(endpoint + "\u0000" + status, k -> new LongAdder()).increment();
        latency.computeIfAbsent(endpoint, k -> new Histogram(LATENCY_BUCKETS)).observe(seconds);
    }

    void batch(int size, double seconds) {
        batchSizes.observe(size);
        batchSeconds.observe(seconds);
        images.add(size);
    }

    void queueDepth(long n) {
        queueDepth.set(n);
    }

    void inFlight(int delta) {
        inFlight.addAndGet(delta);
    }

    void modelLoaded(double seconds, String name, String sha256) {
        modelLoadSeconds = seconds;
        modelInfo = "name=\"" + escape(name) + "\",sha256=\"" + escape(sha256) + "\"";
    }

    void reload(boolean ok) {
        reloads.computeIfAbsent(ok ? "ok" : "refused", k -> new LongAdder()).increment();
    }

    /** Requests answered with {@code status} on {@code endpoint} so far (for tests and logs). */
    long requests(String endpoint, int status) {
        LongAdder a = requests.get(endpoint + "\u0000" + status);
        return a == null ? 0 : a.sum();
    }

    /** Forward passes run so far. */
    long batches() {
        return batchSizes.count.sum();
    }

    /** The Prometheus text exposition of every series. */
    String render() {
        StringBuilder out = new StringBuilder(4096);
        out.append("# HELP resnext_requests_total HTTP requests answered, by endpoint and status.\n");
        out.append("# TYPE resnext_requests_total counter\n");
        long errors = 0;
        for (Map.Entry<String, LongAdder> e : new TreeMap<>(requests).entrySet()) {
            String[] k = e.getKey().split("\u0000");
            out.append("resnext_requests_total{endpoint=\"").append(escape(k[0])).append("\",status=\"").append(k[1])
                    .append("\"} ").append(e.getValue().sum()).append('\n');
            if (Integer.parseInt(k[1]) >= 400) errors += e.getValue().sum();
        }
        out.append("# HELP resnext_request_errors_total HTTP requests answered with a 4xx or 5xx status.\n");
        out.append("# TYPE resnext_request_errors_total counter\n");
        out.append("resnext_request_errors_total ").append(errors).append('\n');
        out.append("# HELP resnext_request_duration_seconds Time from request to response, by endpoint.\n");
        out.append("# TYPE resnext_request_duration_seconds histogram\n");
        for (Map.Entry<String, Histogram> e : new TreeMap<>(latency).entrySet()) {
            e.getValue().render(out, "resnext_request_duration_seconds", "endpoint=\"" + escape(e.getKey()) + "\"");
        }
        out.append("# HELP resnext_batch_size Images per forward pass.\n");
        out.append("# TYPE resnext_batch_size histogram\n");
        batchSizes.render(out, "resnext_batch_size", "");
        out.append("# HELP resnext_batch_duration_seconds Time of one forward pass.\n");
        out.append("# TYPE resnext_batch_duration_seconds histogram\n");
        batchSeconds.render(out, "resnext_batch_duration_seconds", "");
        out.append("# HELP resnext_images_total Images classified.\n");
        out.append("# TYPE resnext_images_total counter\n");
        out.append("resnext_images_total ").append(images.sum()).append('\n');
        out.append("# HELP resnext_queue_depth Requests waiting for the network.\n");
        out.append("# TYPE resnext_queue_depth gauge\n");
        out.append("resnext_queue_depth ").append(queueDepth.get()).append('\n');
        out.append("# HELP resnext_requests_in_flight Requests being handled.\n");
        out.append("# TYPE resnext_requests_in_flight gauge\n");
        out.append("resnext_requests_in_flight ").append(inFlight.get()).append('\n');
        out.append("# HELP resnext_model_load_seconds Time the model in use took to load.\n");
        out.append("# TYPE resnext_model_load_seconds gauge\n");
        out.append("resnext_model_load_seconds ").append(num(modelLoadSeconds)).append('\n');
        out.append("# HELP resnext_model_info The model in use.\n");
        out.append("# TYPE resnext_model_info gauge\n");
        out.append("resnext_model_info{").append(modelInfo).append("} 1\n");
        out.append("# HELP resnext_reloads_total Reload requests, by result.\n");
        out.append("# TYPE resnext_reloads_total counter\n");
        for (String r : new String[] {"ok", "refused"}) {
            LongAdder a = reloads.get(r);
            out.append("resnext_reloads_total{result=\"").append(r).append("\"} ").append(a == null ? 0 : a.sum())
                    .append('\n');
        }
        return out.toString();
    }

    private static String num(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return Double.toString(v);
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
