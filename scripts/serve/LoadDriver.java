import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
 *
 * <p>Each client is a plain HTTP/1.1 keep-alive connection over a socket (reconnecting when the
 * server closes it), like wrk: the driver shares the server's cores, and the JDK's HttpClient (a
 * selector thread, an executor and futures per request) took 0.1 to 0.3 of them.
 */
public class LoadDriver {
    public static void main(String[] a) throws Exception {
        URI url = URI.create(a[0]).resolve("v1/predict");
        byte[] image = Files.readAllBytes(Path.of(a[1]));
        int clients = Integer.parseInt(a[2]);
        double seconds = Double.parseDouble(a[3]);
        long maxRequests = a.length > 4 ? Long.parseLong(a[4]) : Long.MAX_VALUE;
        byte[] head = ("POST " + url.getRawPath() + " HTTP/1.1\r\nHost: " + url.getHost() + ":" + url.getPort()
                + "\r\nContent-Type: image/png\r\nContent-Length: " + image.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger errors = new AtomicInteger();
        AtomicLong sent = new AtomicLong();
        List<String> firstErrors = Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            Thread t = new Thread(() -> {
                Connection conn = null;
                while (System.nanoTime() < end && sent.incrementAndGet() <= maxRequests) {
                    long t0 = System.nanoTime();
                    try {
                        if (conn == null) conn = new Connection(url.getHost(), url.getPort());
                        Response r = conn.post(head, image);
                        if (r.close()) {
                            conn.close();
                            conn = null;
                        }
                        if (r.status() != 200) {
                            errors.incrementAndGet();
                            if (firstErrors.size() < 3) firstErrors.add(r.status() + " " + r.body().strip());
                        } else {
                            latencies.add((System.nanoTime() - t0) / 1e6);
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                        if (firstErrors.size() < 3) firstErrors.add(e.toString());
                        if (conn != null) conn.close();
                        conn = null;
                    }
                }
                if (conn != null) conn.close();
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

    record Response(int status, String body, boolean close) {
    }

    /** One keep-alive HTTP/1.1 connection. */
    static final class Connection {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        Connection(String host, int port) throws IOException {
            socket = new Socket(host, port);
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(120_000);
            in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
            out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
        }

        Response post(byte[] head, byte[] body) throws IOException {
            out.write(head);
            out.write(body);
            out.flush();
            String status = line();
            int code = Integer.parseInt(status.split(" ")[1]);
            long length = -1;
            boolean chunked = false;
            boolean close = false;
            for (String h; !(h = line()).isEmpty(); ) {
                String lower = h.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) length = Long.parseLong(h.substring(15).trim());
                else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) chunked = true;
                else if (lower.startsWith("connection:") && lower.contains("close")) close = true;
            }
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            if (chunked) {
                for (long n; (n = Long.parseLong(line().split(";")[0].trim(), 16)) > 0; ) {
                    copy(n, b);
                    line();
                }
                while (!line().isEmpty()) {
                    // trailers
                }
            } else if (length >= 0) {
                copy(length, b);
            } else {
                in.transferTo(b);
                close = true;
            }
            // the body is only kept for error messages
            return new Response(code, code == 200 ? "" : b.toString(StandardCharsets.UTF_8), close);
        }

        private void copy(long n, ByteArrayOutputStream b) throws IOException {
            byte[] buf = new byte[8192];
            while (n > 0) {
                int r = in.read(buf, 0, (int) Math.min(buf.length, n));
                if (r < 0) throw new EOFException("connection closed in a response body");
                b.write(buf, 0, r);
                n -= r;
            }
        }

        private String line() throws IOException {
            StringBuilder sb = new StringBuilder();
            for (int ch; (ch = in.read()) != '\n'; ) {
                if (ch < 0) throw new EOFException("connection closed by the server");
                if (ch != '\r') sb.append((char) ch);
            }
            return sb.toString();
        }

        void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }
}
