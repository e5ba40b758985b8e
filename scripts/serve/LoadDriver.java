import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load for scripts/bench-serve.sh: N clients, each sending one image after the other to
 * POST /v1/predict for a bounded time (and at most a bounded number of requests), on loopback.
 * Prints one JSON line: requests/s, latency percentiles, error count.
 *   java LoadDriver.java URL IMAGE.png CLIENTS SECONDS [MAX_REQUESTS]
 */
public class LoadDriver {
    public static void main(String[] a) throws Exception {
        URI url = URI.create(a[0]).resolve("v1/predict");
        byte[] image = Files.readAllBytes(Path.of(a[1]));
        int clients = Integer.parseInt(a[2]);
        double seconds = Double.parseDouble(a[3]);
        long maxRequests = a.length > 4 ? Long.parseLong(a[4]) : Long.MAX_VALUE;
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger errors = new AtomicInteger();
        AtomicLong sent = new AtomicLong();
        List<String> firstErrors = Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            Thread t = new Thread(() -> {
                while (System.nanoTime() < end && sent.incrementAndGet() <= maxRequests) {
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(120))
                                .header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(image))
                                .build(), HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() != 200) {
                            errors.incrementAndGet();
                            if (firstErrors.size() < 3) firstErrors.add(r.statusCode() + " " + r.body().strip());
                        } else {
                            latencies.add((System.nanoTime() - t0) / 1e6);
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                        if (firstErrors.size() < 3) firstErrors.add(e.toString());
                    }
                }
            });
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) t.join();
        double elapsed = (System.nanoTime() - start) / 1e9;
        List<Double> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        System.out.printf(Locale.ROOT, "{\"clients\": %d, \"seconds\": %.1f, \"requests\": %d, \"errors\": %d, "
                        + "\"requests_per_s\": %.2f, \"p50_ms\": %.1f, \"p95_ms\": %.1f, \"p99_ms\": %.1f, \"first_errors\": %s}%n",
                clients, elapsed, sorted.size(), errors.get(), sorted.size() / elapsed, pct(sorted, 50), pct(sorted, 95),
                pct(sorted, 99), quoted(firstErrors));
    }

    static double pct(List<Double> sorted, double p) {
        if (sorted.isEmpty()) return Double.NaN;
        int i = (int) Math.ceil(p / 100 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }

    static String quoted(List<String> s) {
        List<String> q = new ArrayList<>();
        for (String x : s) q.add("\"" + x.replace("\\", "\\\\").replace("\"", "\\\"") + "\"");
        return "[" + String.join(", ", q) + "]";
    }
}
