package dev.resnext.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.api.Prediction;
import dev.resnext.api.ResNeXtClassifier;
import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.data.ImageDecoder;
import dev.resnext.data.Normalization;
import dev.resnext.data.SyntheticShapes;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.runtime.GraphRuntime;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The server on a free port with a small model: every endpoint, batching, bad input, the admin token,
 * reload under load and graceful shutdown.
 */
class ModelServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "0123456789abcdef-test-token";

    @TempDir
    static Path dir;
    static Path zip;
    static Path otherZip;
    static ModelServer server;
    static URI base;
    static HttpClient http;
    static ResNeXtClassifier reference;
    static final ResNeXtConfig CONFIG = Presets.small().toBuilder().input(16, 16, 1).numClasses(4).build();

    @BeforeAll
    static void start() throws Exception {
        Backends.initialize(BackendChoice.CPU);
        zip = dir.resolve("shapes.zip");
        otherZip = dir.resolve("other.zip");
        save(zip, 1);
        save(otherZip, 2);
        reference = ResNeXtClassifier.load(zip);
        server = ModelServer.builder().setModel(zip).optPort(0).optMaxBatch(8).optMaxWait(Duration.ofMillis(20))
                .optMaxUploadBytes(256 * 1024).optAdminToken(TOKEN).build();
        server.start();
        base = server.uri();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.stop();
    }

    private static void save(Path file, long seed) {
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(CONFIG.toBuilder().seed(seed).build()));
        ModelZip.save(file, g, ModelMetadata.create(CONFIG, SyntheticShapes.CLASSES, null, null, null),
                Normalization.of(new float[] {0.3f}, new float[] {0.2f}), false);
    }

    static byte[] png(int label, int variant) throws IOException {
        BufferedImage img = SyntheticShapes.draw(label, 16, 3, variant);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    static HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET());
    }

    static HttpResponse<String> postBody(String path, String contentType, byte[] body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) b.header("Content-Type", contentType);
        return send(b);
    }

    /** A multipart/form-data body with one file part per entry. */
    static HttpResponse<String> postMultipart(String path, Map<String, byte[]> files) throws Exception {
        String boundary = "----resnext" + System.nanoTime();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"" + f.getKey()
                    + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            body.write(f.getValue());
            body.write("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        body.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return postBody(path, "multipart/form-data; boundary=" + boundary, body.toByteArray());
    }

    static JsonNode json(HttpResponse<String> r) throws IOException {
        return JSON.readTree(r.body());
    }

    /** An error answer: the expected status, JSON with an "error" field, on one line, no stack trace. */
    static String assertError(HttpResponse<String> r, int status) throws IOException {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.headers().toString());
        String body = r.body().strip();
        assertFalse(body.contains("\n"), "one line: " + body);
        assertFalse(body.contains("at dev.resnext") || body.contains("Exception\n"), body);
        JsonNode n = JSON.readTree(body);
        assertEquals(status, n.get("status").asInt());
        assertFalse(n.get("error").asText().isBlank());
        return n.get("error").asText();
    }

    private static void assertStillServing() throws Exception {
        HttpResponse<String> r = postBody("v1/predict", "image/png", png(2, 1));
        assertEquals(200, r.statusCode(), r.body());
    }

    @Test
    void healthReadinessMetricsModelAndPage() throws Exception {
        assertEquals(200, get("healthz").statusCode());
        HttpResponse<String> ready = get("readyz");
        assertEquals(200, ready.statusCode());
        assertEquals("ready", json(ready).get("status").asText());

        JsonNode model = json(get("v1/model"));
        assertTrue(List.of("shapes", "other").contains(model.get("name").asText()));
        assertEquals(64, model.get("sha256").asText().length());
        assertEquals(SyntheticShapes.CLASSES.size(), model.get("labels").size());
        assertEquals(16, model.get("input").get("height").asInt());
        assertEquals("arg-max", model.get("decision").get("rule").asText());
        assertTrue(model.get("explain").asBoolean());
        assertEquals(ModelMetadata.FORMAT, model.get("metadata").get("format").asText());

        HttpResponse<String> page = get("");
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertTrue(page.body().contains("<script src=\"app.js\">"));
        assertFalse(page.body().contains("http://") || page.body().contains("https://"), "no CDN or remote resource");
        assertTrue(get("app.js").body().contains("v1/predict"));
        assertEquals(200, get("style.css").statusCode());

        assertStillServing();
        String metrics = get("metrics").body();
        for (String series : List.of("resnext_requests_total{endpoint=\"/v1/predict\",status=\"200\"}",
                "resnext_request_errors_total", "resnext_request_duration_seconds_bucket{endpoint=\"/v1/predict\",le=\"+Inf\"}",
                "resnext_batch_size_bucket{le=\"1\"}", "resnext_queue_depth", "resnext_model_load_seconds",
                "resnext_model_info{name=")) {
            assertTrue(metrics.contains(series), series + " in\n" + metrics);
        }
    }

    @Test
    void predictAnswersLikeTheReuseApi() throws Exception {
        for (int label = 0; label < 4; label++) {
            byte[] image = png(label, 0);
            Prediction expected = reference.classify(ImageIO.read(new ByteArrayInputStream(image)));
            for (HttpResponse<String> r : List.of(postBody("v1/predict", "image/png", image),
                    postMultipart("v1/predict", Map.of("shape.png", image)))) {
                assertEquals(200, r.statusCode(), r.body());
                JsonNode n = json(r);
                assertEquals(expected.label(), n.get("label").asText());
                double[] p = new double[n.get("probabilities").size()];
                for (int i = 0; i < p.length; i++) p[i] = n.get("probabilities").get(i).asDouble();
                assertArrayEquals(expected.probabilities(), p, 1e-5);
                assertEquals(16, n.get("image").get("width").asInt());
                assertTrue(n.get("timing").get("total_ms").asDouble() >= 0);
                assertTrue(n.get("timing").get("batch_size").asInt() >= 1);
                assertEquals("arg-max", n.get("decision").get("rule").asText());
                assertEquals(64, n.get("model").get("sha256").asText().length());
            }
        }
    }

    @Test
    void explainReturnsAGradCamOverlayAndTtaIsAccepted() throws Exception {
        HttpResponse<String> r = postMultipart("v1/predict?explain=true&tta=flip", Map.of("a.png", png(1, 2)));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode e = json(r).get("explain");
        assertEquals("grad-cam", e.get("method").asText());
        BufferedImage overlay = ImageIO.read(new ByteArrayInputStream(
                Base64.getDecoder().decode(e.get("overlay_png_base64").asText())));
        assertEquals(16, overlay.getWidth());
        assertTrue(e.get("map_height").asInt() >= 1);
    }

    @Test
    void batchEndpointScoresEveryPartAndReportsTheBadOnes() throws Exception {
        Map<String, byte[]> files = new java.util.LinkedHashMap<>();
        files.put("c0.png", png(0, 0));
        files.put("broken.png", Arrays.copyOf(png(1, 0), 30));
        files.put("c3.png", png(3, 1));
        HttpResponse<String> r = postMultipart("v1/predict/batch", files);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode n = json(r);
        assertEquals(3, n.get("count").asInt());
        assertEquals(1, n.get("failed").asInt());
        JsonNode results = n.get("results");
        assertEquals("c0.png", results.get(0).get("file").asText());
        assertEquals(reference.classify(ImageIO.read(new ByteArrayInputStream(files.get("c0.png")))).label(),
                results.get(0).get("label").asText());
        assertTrue(results.get(1).get("error").asText().contains("broken.png"), results.get(1).toString());
        assertEquals(422, results.get(1).get("status").asInt());
        assertTrue(results.get(2).has("label"));

        Map<String, byte[]> allBad = Map.of("x.png", "not an image".getBytes(StandardCharsets.UTF_8));
        assertError(postMultipart("v1/predict/batch", allBad), 422);
        assertError(postBody("v1/predict/batch", "image/png", png(0, 0)), 415);
    }

    @Test
    void concurrentRequestsShareForwardPassesAndGetTheSameAnswers() throws Exception {
        int n = 16;
        List<byte[]> images = new ArrayList<>();
        List<Prediction> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            images.add(png(i % 4, i / 4));
            expected.add(reference.classify(ImageIO.read(new ByteArrayInputStream(images.get(i)))));
        }
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<HttpResponse<String>>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                byte[] img = images.get(i);
                futures.add(pool.submit(() -> {
                    go.await();
                    return postBody("v1/predict", "image/png", img);
                }));
            }
            go.countDown();
            int largest = 0;
            for (int i = 0; i < n; i++) {
                HttpResponse<String> r = futures.get(i).get();
                assertEquals(200, r.statusCode(), r.body());
                JsonNode j = json(r);
                largest = Math.max(largest, j.get("timing").get("batch_size").asInt());
                double[] p = new double[4];
                for (int k = 0; k < 4; k++) p[k] = j.get("probabilities").get(k).asDouble();
                // batched answers equal the one-by-one answers
                assertArrayEquals(expected.get(i).probabilities(), p, 1e-5, "image " + i);
            }
            assertTrue(largest > 1, "16 simultaneous requests should share a forward pass; largest batch " + largest);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void badRequestsGetTheRightStatusAndTheServerKeepsServing() throws Exception {
        byte[] good = png(0, 0);
        assertError(postBody("v1/predict", "image/png", "hello, not an image".getBytes(StandardCharsets.UTF_8)), 422);
        String damaged = assertError(postBody("v1/predict", "image/png", Arrays.copyOf(good, good.length / 2)), 422);
        assertTrue(damaged.contains("cannot read image"), damaged);
        byte[] dicom;
        try (InputStream in = getClass().getResourceAsStream("/dicom/mono2_8bit_explicit_le.dcm")) {
            dicom = in.readAllBytes();
        }
        assertEquals(200, postBody("v1/predict", "application/dicom", dicom).statusCode(), "a good DICOM is served");
        assertError(postBody("v1/predict", "application/dicom", Arrays.copyOf(dicom, dicom.length - 40)), 422);
        try (InputStream in = getClass().getResourceAsStream("/dicom/no_pixel_data.dcm")) {
            assertError(postBody("v1/predict", "application/dicom", in.readAllBytes()), 422);
        }
        assertError(postBody("v1/predict", "image/png", new byte[0]), 400);
        assertError(postBody("v1/predict", "image/png", new byte[300 * 1024]), 413);
        assertError(postBody("v1/predict", "application/json", "{\"image\": 1}".getBytes(StandardCharsets.UTF_8)), 415);
        assertError(postBody("v1/predict", "text/plain", good), 415);
        assertError(postBody("v1/predict", null, good), 415);
        assertError(postBody("v1/predict", "multipart/form-data; boundary=zzz", "garbage".getBytes(StandardCharsets.UTF_8)), 400);
        assertError(postMultipart("v1/predict", Map.of("a.png", good, "b.png", good)), 400);
        assertError(postBody("v1/predict?explain=maybe", "image/png", good), 400);
        assertError(postBody("v1/predict?tta=rotate", "image/png", good), 400);
        assertError(postBody("v1/predict?colour=red", "image/png", good), 400);
        assertError(get("nope"), 404);
        assertError(get("v1/predict/../../etc/passwd"), 404);
        HttpResponse<String> wrongMethod = get("v1/predict");
        assertError(wrongMethod, 405);
        assertEquals("POST", wrongMethod.headers().firstValue("Allow").orElse(""));
        assertError(send(HttpRequest.newBuilder(base.resolve("v1/model")).DELETE()), 405);
        assertError(postBody("v1/model", "image/png", good), 405);

        BufferedImage huge = new BufferedImage(3000, 3000, BufferedImage.TYPE_BYTE_GRAY);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(huge, "png", out);
        long limit = ImageDecoder.maxPixels();
        ImageDecoder.setMaxPixels(1_000_000);
        try {
            String tooLarge = assertError(postBody("v1/predict", "image/png", out.toByteArray()), 413);
            assertTrue(tooLarge.contains("3000 x 3000"), tooLarge);
        } finally {
            ImageDecoder.setMaxPixels(limit);
        }
        assertStillServing();
        assertTrue(get("metrics").body().contains("status=\"422\""));
    }

    @Test
    void adminReloadNeedsTheToken() throws Exception {
        HttpRequest.Builder noToken = HttpRequest.newBuilder(base.resolve("v1/admin/reload"))
                .POST(HttpRequest.BodyPublishers.noBody());
        HttpResponse<String> r = send(noToken);
        assertError(r, 401);
        assertEquals("Bearer", r.headers().firstValue("WWW-Authenticate").orElse(""));
        assertError(send(HttpRequest.newBuilder(base.resolve("v1/admin/reload"))
                .header("Authorization", "Bearer wrong-token-wrong-token").POST(HttpRequest.BodyPublishers.noBody())), 403);
        assertError(send(HttpRequest.newBuilder(base.resolve("v1/admin/reload"))
                .header("Authorization", "Basic " + TOKEN).POST(HttpRequest.BodyPublishers.noBody())), 401);

        ModelServer open = ModelServer.builder().setModel(zip).optPort(0).build();
        open.start();
        try {
            HttpResponse<String> disabled = http.send(HttpRequest.newBuilder(open.uri().resolve("v1/admin/reload"))
                    .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertError(disabled, 403);
        } finally {
            open.stop();
        }
    }

    @Test
    void reloadUnderLoadLosesNoRequestAndABadZipIsRefused() throws Exception {
        Path served = dir.resolve("served.zip");
        Files.copy(zip, served, StandardCopyOption.REPLACE_EXISTING);
        ModelServer s = ModelServer.builder().setModel(served).optPort(0).optMaxWait(Duration.ofMillis(2))
                .optAdminToken(TOKEN).build();
        s.start();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        try {
            String before = JSON.readTree(http.send(HttpRequest.newBuilder(s.uri().resolve("v1/model")).build(),
                    HttpResponse.BodyHandlers.ofString()).body()).get("sha256").asText();
            List<Future<?>> clients = new ArrayList<>();
            for (int c = 0; c < 4; c++) {
                int id = c;
                clients.add(pool.submit((Callable<Void>) () -> {
                    int i = 0;
                    while (running.get()) {
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(s.uri().resolve("v1/predict"))
                                .header("Content-Type", "image/png")
                                .POST(HttpRequest.BodyPublishers.ofByteArray(png((id + i++) % 4, 0))).build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() == 200) ok.incrementAndGet();
                        else failures.add(r.statusCode() + " " + r.body());
                    }
                    return null;
                }));
            }
            Thread.sleep(300);
            Files.copy(otherZip, served, StandardCopyOption.REPLACE_EXISTING);
            HttpResponse<String> reload = http.send(HttpRequest.newBuilder(s.uri().resolve("v1/admin/reload"))
                    .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, reload.statusCode(), reload.body());
            Thread.sleep(300);
            Files.write(served, "this is not a zip".getBytes(StandardCharsets.UTF_8));
            HttpResponse<String> refused = http.send(HttpRequest.newBuilder(s.uri().resolve("v1/admin/reload"))
                    .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            String why = assertError(refused, 422);
            assertTrue(why.contains("still serving"), why);
            Thread.sleep(300);
            running.set(false);
            for (Future<?> f : clients) f.get();
            assertEquals(List.of(), failures);
            assertTrue(ok.get() > 10, "requests answered during the reloads: " + ok.get());
            JsonNode after = JSON.readTree(http.send(HttpRequest.newBuilder(s.uri().resolve("v1/model")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            assertNotEquals(before, after.get("sha256").asText(), "the new zip is in use");
            String metrics = http.send(HttpRequest.newBuilder(s.uri().resolve("metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(metrics.contains("resnext_reloads_total{result=\"ok\"} 1"), metrics);
            assertTrue(metrics.contains("resnext_reloads_total{result=\"refused\"} 1"), metrics);
        } finally {
            running.set(false);
            pool.shutdownNow();
            s.stop();
        }
    }

    @Test
    void stopFinishesTheRequestsInFlightThenRefusesConnections() throws Exception {
        // a long batching wait keeps requests in flight when stop() is called
        ModelServer s = ModelServer.builder().setModel(zip).optPort(0).optMaxBatch(64)
                .optMaxWait(Duration.ofMillis(800)).build();
        s.start();
        URI uri = s.uri();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<HttpResponse<String>>> inFlight = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                byte[] img = png(i, 0);
                inFlight.add(pool.submit(() -> http.send(HttpRequest.newBuilder(uri.resolve("v1/predict"))
                        .header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(img)).build(),
                        HttpResponse.BodyHandlers.ofString())));
            }
            Thread.sleep(300);
            s.stop();
            for (Future<HttpResponse<String>> f : inFlight) {
                HttpResponse<String> r = f.get();
                assertEquals(200, r.statusCode(), r.body());
            }
            HttpClient fresh = HttpClient.newHttpClient();
            Exception refused = assertThrows(Exception.class, () -> fresh.send(HttpRequest.newBuilder(uri.resolve("healthz"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()));
            assertTrue(refused instanceof ConnectException || refused.getCause() instanceof ConnectException
                    || refused instanceof IOException, refused.toString());
        } finally {
            pool.shutdownNow();
            s.stop();
        }
    }

    @Test
    void builderRefusesSettingsThatCannotWork() {
        assertThrows(IllegalArgumentException.class, () -> ModelServer.builder().build());
        assertThrows(IllegalArgumentException.class, () -> ModelServer.builder().setModel(zip).optMaxBatch(0).build());
        assertThrows(IllegalArgumentException.class, () -> ModelServer.builder().setModel(zip).optPort(70000).build());
        assertThrows(IllegalArgumentException.class, () -> ModelServer.builder().setModel(zip).optAdminToken("short").build());
        assertThrows(IllegalArgumentException.class,
                () -> ModelServer.builder().setModel(zip).optMaxWait(Duration.ofMillis(-1)).build());
        ModelServer busy = ModelServer.builder().setModel(zip).optPort(server.port()).build();
        dev.resnext.ResNeXtException e = assertThrows(dev.resnext.ResNeXtException.class, busy::start);
        assertTrue(e.getMessage().contains("cannot listen on"), e.getMessage());
    }
}
