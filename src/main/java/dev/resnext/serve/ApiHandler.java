package dev.resnext.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.ResNeXtException;
import dev.resnext.api.Prediction;
import dev.resnext.api.ResNeXtClassifier;
import dev.resnext.data.DecodedImage;
import dev.resnext.data.ImageDecoder;
import dev.resnext.data.ImageTooLargeException;
import dev.resnext.eval.TestTimeAugmentation;
import dev.resnext.explain.GradCam;
import dev.resnext.explain.HeatmapOverlay;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.MultiPart;
import org.eclipse.jetty.http.MultiPartConfig;
import org.eclipse.jetty.http.MultiPartFormData;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The HTTP API: routes a request, turns every failure into a status and a one-line JSON error, and
 * counts it in the metrics. Images are decoded and prepared in the request's thread; only the
 * forward pass goes through the model's {@link BatchQueue}.
 */
final class ApiHandler extends Handler.Abstract {
    private static final Logger log = LoggerFactory.getLogger(ApiHandler.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Content types taken as one image in the body; anything else but multipart is refused with 415. */
    private static final Set<String> IMAGE_BODY_TYPES = Set.of("application/octet-stream", "application/dicom");
    /** Largest side of the Grad-CAM overlay returned (the original image is scaled down to it). */
    private static final int OVERLAY_MAX_SIDE = 512;
    private static final int MAX_BATCH_PARTS = 256;

    /** Routes and the methods they answer. */
    private static final Map<String, Set<String>> ROUTES = Map.of(
            "/", Set.of("GET"),
            "/app.js", Set.of("GET"),
            "/style.css", Set.of("GET"),
            "/healthz", Set.of("GET"),
            "/readyz", Set.of("GET"),
            "/metrics", Set.of("GET"),
            "/v1/model", Set.of("GET"),
            "/v1/predict", Set.of("POST"),
            "/v1/predict/batch", Set.of("POST"),
            "/v1/admin/reload", Set.of("POST"));

    private final ModelServer server;
    private final WebPage web = new WebPage();

    ApiHandler(ModelServer server) {
        this.server = server;
    }

    /** One answer: status, content type and body. */
    private record Answer(int status, String contentType, byte[] body, Map<String, String> headers) {
        static Answer json(int status, Object value) {
            try {
                return new Answer(status, "application/json", JSON.writeValueAsBytes(value), Map.of());
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }

        static Answer text(String contentType, String body) {
            return new Answer(200, contentType, body.getBytes(StandardCharsets.UTF_8), Map.of());
        }
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        long start = System.nanoTime();
        String path = Request.getPathInContext(request);
        String method = request.getMethod();
        String endpoint = ROUTES.containsKey(path) ? path : "other";
        server.metrics().inFlight(1);
        Answer answer;
        try {
            answer = route(method, path, request, start);
        } catch (HttpProblem p) {
            answer = error(p.status(), p.getMessage());
            if (p.status() == 405) {
                answer = new Answer(405, answer.contentType(), answer.body(),
                        Map.of("Allow", String.join(", ", ROUTES.get(path))));
            } else if (p.status() == 401) {
                answer = new Answer(401, answer.contentType(), answer.body(), Map.of("WWW-Authenticate", "Bearer"));
            }
        } catch (OutOfMemoryError e) {
            answer = error(503, "out of memory while handling this request; retry later");
        } catch (RuntimeException e) {
            log.error("{} {} failed", method, path, e);
            answer = error(500, "internal error while handling " + method + " " + path + ": " + e);
        } finally {
            server.metrics().inFlight(-1);
        }
        response.setStatus(answer.status());
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, answer.contentType());
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        response.getHeaders().put("X-Content-Type-Options", "nosniff");
        answer.headers().forEach((k, v) -> response.getHeaders().put(k, v));
        server.metrics().request(endpoint, answer.status(), (System.nanoTime() - start) / 1e9);
        response.write(true, ByteBuffer.wrap(answer.body()), callback);
        return true;
    }

    private Answer route(String method, String path, Request request, long start) {
        Set<String> methods = ROUTES.get(path);
        if (methods == null) {
            throw new HttpProblem(404, "no such endpoint: " + path + " (see GET /v1/model, POST /v1/predict)");
        }
        if (!methods.contains(method)) {
            throw new HttpProblem(405, method + " is not allowed on " + path + "; use " + String.join(" or ", methods));
        }
        return switch (path) {
            case "/", "/app.js", "/style.css" -> {
                WebPage.Resource r = web.get(path);
                yield new Answer(200, r.contentType(), r.body(), Map.of());
            }
            case "/healthz" -> Answer.json(200, Map.of("status", "ok"));
            case "/readyz" -> server.ready() && server.currentModel() != null
                    ? Answer.json(200, Map.of("status", "ready", "model", server.currentModel().name()))
                    : Answer.json(503, Map.of("status", "not ready", "error", "the server is starting or stopping"));
            case "/metrics" -> Answer.text("text/plain; version=0.0.4; charset=utf-8", server.metrics().render());
            case "/v1/model" -> withModel(m -> Answer.json(200, describe(m)));
            case "/v1/predict" -> predictOne(request, start);
            case "/v1/predict/batch" -> predictBatch(request, start);
            case "/v1/admin/reload" -> reload(request);
            default -> throw new HttpProblem(404, "no such endpoint: " + path);
        };
    }

    private interface ModelWork {
        Answer run(ServedModel m);
    }

    private Answer withModel(ModelWork work) {
        ServedModel m = server.acquire();
        try {
            return work.run(m);
        } finally {
            m.release();
        }
    }

    // ---- predict ----------------------------------------------------------------------------

    /** Options of a predict request, from its query string. */
    private record PredictOptions(boolean explain, TestTimeAugmentation tta) {
    }

    private static PredictOptions options(Request request, boolean allowExplain) {
        Fields q = Request.extractQueryParameters(request);
        boolean explain = false;
        TestTimeAugmentation tta = TestTimeAugmentation.NONE;
        for (Fields.Field f : q) {
            String v = f.getValue() == null ? "" : f.getValue().trim().toLowerCase(Locale.ROOT);
            switch (f.getName()) {
                case "explain" -> {
                    if (!allowExplain) throw new HttpProblem(400, "explain is available on /v1/predict only");
                    explain = switch (v) {
                        case "true", "1", "yes", "" -> true;
                        case "false", "0", "no" -> false;
                        default -> throw new HttpProblem(400, "explain must be true or false, was '" + v + "'");
                    };
                }
                case "tta" -> {
                    try {
                        tta = v.isEmpty() || v.equals("none") ? TestTimeAugmentation.NONE
                                : TestTimeAugmentation.parse(v);
                    } catch (RuntimeException e) {
                        throw new HttpProblem(400, "tta must be none, flip, shift or flip,shift, was '" + v + "'");
                    }
                }
                default -> throw new HttpProblem(400, "unknown query parameter '" + f.getName()
                        + "' (known: explain, tta)");
            }
        }
        return new PredictOptions(explain, tta);
    }

    private Answer predictOne(Request request, long start) {
        PredictOptions opts = options(request, true);
        // announced before the body is read: the batch being gathered waits for this request
        Arrivals.Arrival arrival = server.arrivals().arrive();
        try {
            Upload u = uploads(request, false).get(0);
            return withModel(m -> {
                Decoded d = decode(u, m.classifier());
                CompletableFuture<BatchQueue.Scored> queued = m.queue().classify(d.prepared(), opts.tta());
                arrival.close();
                return predicted(m, u, d, await(queued), opts, start);
            });
        } finally {
            arrival.close();
        }
    }

    private Answer predicted(ServedModel m, Upload u, Decoded d, BatchQueue.Scored s, PredictOptions opts,
                             long start) {
        Map<String, Object> out = prediction(m, u.name(), d, s, start);
        if (opts.explain()) {
            out.put("explain", explain(m, d, s.prediction()));
        }
        out.put("model", identity(m));
        return Answer.json(200, out);
    }

    private Answer predictBatch(Request request, long start) {
        PredictOptions opts = options(request, false);
        List<Upload> uploads = uploads(request, true);
        return withModel(m -> {
            List<Map<String, Object>> results = new ArrayList<>();
            List<CompletableFuture<BatchQueue.Scored>> futures = new ArrayList<>();
            List<Decoded> decoded = new ArrayList<>();
            int failed = 0;
            for (Upload u : uploads) {
                try (Arrivals.Arrival a = server.arrivals().arrive()) {
                    Decoded d = decode(u, m.classifier());
                    decoded.add(d);
                    futures.add(m.queue().classify(d.prepared(), opts.tta()));
                } catch (HttpProblem p) {
                    if (p.status() >= 500) throw p;
                    decoded.add(null);
                    futures.add(null);
                    failed++;
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("file", u.name());
                    e.put("error", p.getMessage());
                    e.put("status", p.status());
                    results.add(e);
                    continue;
                }
                results.add(null);
            }
            if (failed == uploads.size()) {
                throw new HttpProblem(422, uploads.size() == 1 ? (String) results.get(0).get("error")
                        : "none of the " + uploads.size() + " images could be read (first: "
                        + results.get(0).get("error") + ")");
            }
            for (int i = 0; i < uploads.size(); i++) {
                if (futures.get(i) != null) {
                    results.set(i, prediction(m, uploads.get(i).name(), decoded.get(i), await(futures.get(i)), start));
                }
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", identity(m));
            out.put("count", uploads.size());
            out.put("failed", failed);
            out.put("results", results);
            out.put("total_ms", round((System.nanoTime() - start) / 1e6));
            return Answer.json(200, out);
        });
    }

    /** The result of work queued for the network, or the HTTP problem that says why there is none. */
    private <T> T await(CompletableFuture<T> f) {
        try {
            return f.get(server.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(false);
            throw new HttpProblem(503, "no result within " + server.requestTimeout().toSeconds() + " s; the server "
                    + "is overloaded, retry later");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HttpProblem(503, "interrupted while waiting for the model");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof HttpProblem p) throw p;
            if (e.getCause() instanceof ResNeXtException r) throw new HttpProblem(422, r.getMessage());
            throw new HttpProblem(500, "the model failed: " + e.getCause());
        }
    }

    /** An image as uploaded: the client's name for it (messages only) and its bytes. */
    private record Upload(String name, byte[] bytes) {
    }

    /** An image decoded and converted to the model's input. */
    private record Decoded(DecodedImage image, float[] prepared, double decodeMillis) {
    }

    private static Decoded decode(Upload u, ResNeXtClassifier classifier) {
        long t0 = System.nanoTime();
        DecodedImage img;
        try {
            img = ImageDecoder.decode(u.bytes(), u.name());
        } catch (ImageTooLargeException e) {
            throw new HttpProblem(413, e.getMessage());
        } catch (ResNeXtException e) {
            throw new HttpProblem(422, e.getMessage());
        }
        float[] prepared = classifier.prepare(img);
        return new Decoded(img, prepared, (System.nanoTime() - t0) / 1e6);
    }

    private Map<String, Object> prediction(ServedModel m, String name, Decoded d, BatchQueue.Scored s, long start) {
        Prediction p = s.prediction();
        ResNeXtClassifier clf = m.classifier();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("file", name);
        out.put("label", p.label());
        out.put("index", p.index());
        out.put("probability", p.probability());
        if (clf.metadata().config().isMultiLabel()) {
            List<Map<String, Object>> findings = new ArrayList<>();
            for (Prediction.Scored f : p.findings()) {
                findings.add(Map.of("label", f.label(), "index", f.index(), "probability", f.probability()));
            }
            out.put("findings", findings);
        }
        out.put("labels", p.labels());
        out.put("probabilities", p.probabilities());
        out.put("decision", clf.describeDecision());
        out.put("image", Map.of("width", d.image().width(), "height", d.image().height(),
                "channels", d.image().channels(), "bit_depth", d.image().bitDepth()));
        Map<String, Object> timing = new LinkedHashMap<>();
        timing.put("decode_ms", round(d.decodeMillis()));
        timing.put("queue_ms", round(s.queueMillis()));
        timing.put("inference_ms", round(s.inferenceMillis()));
        timing.put("batch_size", s.batchSize());
        timing.put("total_ms", round((System.nanoTime() - start) / 1e6));
        out.put("timing", timing);
        return out;
    }

    private Map<String, Object> explain(ServedModel m, Decoded d, Prediction p) {
        GradCam cam = m.gradCam();
        if (cam == null) {
            throw new HttpProblem(409, "this model cannot be explained with Grad-CAM: " + m.gradCamProblem());
        }
        GradCam.Result r = await(m.queue().exclusive(() -> cam.explain(d.prepared(), p.index())));
        DecodedImage shown = shrink(d.image(), OVERLAY_MAX_SIDE);
        BufferedImage overlay = HeatmapOverlay.render(shown, r.map(), HeatmapOverlay.DEFAULT_ALPHA);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try {
            ImageIO.write(overlay, "png", png);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("method", "grad-cam");
        out.put("class", m.classifier().labels().get(r.classIndex()));
        out.put("class_index", r.classIndex());
        out.put("layer", cam.layer());
        out.put("map_height", r.height());
        out.put("map_width", r.width());
        out.put("overlay_png_base64", Base64.getEncoder().encodeToString(png.toByteArray()));
        return out;
    }

    /** Nearest-neighbour scaling so that the larger side is at most {@code maxSide}. */
    static DecodedImage shrink(DecodedImage img, int maxSide) {
        int h = img.height();
        int w = img.width();
        if (Math.max(h, w) <= maxSide) return img;
        double s = (double) maxSide / Math.max(h, w);
        int oh = Math.max(1, (int) Math.round(h * s));
        int ow = Math.max(1, (int) Math.round(w * s));
        int c = img.channels();
        float[] src = img.pixels();
        float[] dst = new float[oh * ow * c];
        for (int y = 0; y < oh; y++) {
            int sy = Math.min(h - 1, (int) ((y + 0.5) / s));
            for (int x = 0; x < ow; x++) {
                int sx = Math.min(w - 1, (int) ((x + 0.5) / s));
                System.arraycopy(src, (sy * w + sx) * c, dst, (y * ow + x) * c, c);
            }
        }
        return new DecodedImage(dst, oh, ow, c, img.bitDepth());
    }

    // ---- request bodies ---------------------------------------------------------------------

    private List<Upload> uploads(Request request, boolean many) {
        String contentType = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
        String mime = contentType == null ? "" : contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        boolean multipart = mime.equals("multipart/form-data");
        if (!multipart && many) {
            throw new HttpProblem(415, "send the images as multipart/form-data (one part per image), not "
                    + (mime.isEmpty() ? "a body without a content type" : mime));
        }
        if (!multipart && !mime.startsWith("image/") && !IMAGE_BODY_TYPES.contains(mime)) {
            throw new HttpProblem(415, "send one image as the body with an image content type (image/png, "
                    + "image/jpeg, application/dicom, application/octet-stream) or as multipart/form-data, not "
                    + (mime.isEmpty() ? "a body without a content type" : mime));
        }
        byte[] body = readBody(request);
        if (body.length == 0) {
            throw new HttpProblem(400, "the request has no image: the body is empty");
        }
        if (!multipart) {
            return List.of(new Upload("upload", body));
        }
        List<Upload> uploads = parts(request, contentType, body);
        if (uploads.isEmpty()) {
            throw new HttpProblem(400, "the multipart body has no image part");
        }
        if (!many && uploads.size() > 1) {
            throw new HttpProblem(400, "/v1/predict takes one image; send " + uploads.size()
                    + " to /v1/predict/batch");
        }
        return uploads;
    }

    private List<Upload> parts(Request request, String contentType, byte[] body) {
        MultiPartConfig config = new MultiPartConfig.Builder()
                .maxParts(MAX_BATCH_PARTS)
                .maxSize(server.maxUploadBytes())
                .maxPartSize(server.maxUploadBytes())
                .maxMemoryPartSize(server.maxUploadBytes())
                .useFilesForPartsWithoutFileName(false)
                .build();
        List<Upload> uploads = new ArrayList<>();
        try (MultiPartFormData.Parts parts = MultiPartFormData.getParts(Content.Source.from(ByteBuffer.wrap(body)),
                request, contentType, config)) {
            for (MultiPart.Part part : parts) {
                ByteBuffer b = Content.Source.asByteBuffer(part.createContentSource());
                byte[] bytes = new byte[b.remaining()];
                b.get(bytes);
                String name = part.getFileName() != null ? part.getFileName()
                        : part.getName() != null ? part.getName() : "part" + (uploads.size() + 1);
                if (bytes.length == 0) {
                    throw new HttpProblem(400, "part '" + name + "' of the multipart body is empty");
                }
                uploads.add(new Upload(name, bytes));
            }
        } catch (HttpProblem p) {
            throw p;
        } catch (Exception e) {
            Throwable c = e;
            while (c.getCause() != null && c != c.getCause()) c = c.getCause();
            String why = c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
            if (why.toLowerCase(Locale.ROOT).contains("too many parts")) {
                throw new HttpProblem(413, "at most " + MAX_BATCH_PARTS + " images per request");
            }
            throw new HttpProblem(400, "malformed multipart body: " + why);
        }
        return uploads;
    }

    /** The body, refused with 413 as soon as it is known to be over the upload limit. */
    private byte[] readBody(Request request) {
        long limit = server.maxUploadBytes();
        long declared = request.getLength();
        if (declared > limit) {
            throw new HttpProblem(413, "the upload (" + declared + " bytes) is over this server's limit of "
                    + megabytes(limit));
        }
        try (InputStream in = Request.asInputStream(request)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(declared > 0 ? (int) declared : 8192);
            byte[] buf = new byte[65536];
            long total = 0;
            int n;
            while ((n = in.read(buf)) > 0) {
                total += n;
                if (total > limit) {
                    throw new HttpProblem(413, "the upload is over this server's limit of " + megabytes(limit));
                }
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new HttpProblem(400, "could not read the request body: " + e.getMessage());
        }
    }

    private static String megabytes(long bytes) {
        return bytes % (1 << 20) == 0 ? (bytes >> 20) + " MB" : bytes + " bytes";
    }

    // ---- model, admin -----------------------------------------------------------------------

    private Map<String, Object> describe(ServedModel m) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.putAll(identity(m));
        out.put("loaded_at", m.loadedAt().toString());
        out.put("load_seconds", round(m.loadSeconds()));
        out.put("labels", m.classifier().labels());
        out.put("multi_label", m.metadata().config().isMultiLabel());
        out.put("input", Map.of("height", m.classifier().inputShape().height(),
                "width", m.classifier().inputShape().width(), "channels", m.classifier().inputShape().channels()));
        out.put("decision", m.classifier().describeDecision());
        out.put("explain", m.gradCam() != null);
        out.put("server", Map.of("max_batch", server.maxBatch(), "max_wait_ms", server.maxWait().toMillis(),
                "max_upload_bytes", server.maxUploadBytes()));
        out.put("metadata", m.metadata());
        return out;
    }

    private static Map<String, Object> identity(ServedModel m) {
        Map<String, Object> id = new LinkedHashMap<>();
        id.put("name", m.name());
        id.put("sha256", m.sha256());
        id.put("format", m.metadata().format());
        return id;
    }

    private Answer reload(Request request) {
        String token = server.adminToken();
        if (token == null) {
            throw new HttpProblem(403, "reloading is disabled: the server was started without an admin token");
        }
        String auth = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        String given = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).trim() : null;
        if (given == null) {
            throw new HttpProblem(401, "this endpoint needs the admin token: Authorization: Bearer <token>");
        }
        if (!MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8))) {
            throw new HttpProblem(403, "wrong admin token");
        }
        try {
            Content.Source.consumeAll(request);
        } catch (IOException e) {
            // the body is not used; a broken one does not matter
        }
        String message;
        try {
            message = server.reload();
        } catch (ResNeXtException e) {
            ServedModel still = server.currentModel();
            throw new HttpProblem(422, "reload refused: " + e.getMessage() + "; still serving "
                    + (still == null ? "nothing" : still.name() + " (sha256 " + still.sha256().substring(0, 12) + ")"));
        }
        ServedModel m = server.currentModel();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("reloaded", true);
        out.put("message", message);
        out.put("model", identity(m));
        return Answer.json(200, out);
    }

    // ---- errors -----------------------------------------------------------------------------

    private static Answer error(int status, String message) {
        return new Answer(status, "application/json", errorJson(status, message).getBytes(StandardCharsets.UTF_8),
                Map.of());
    }

    /** {@code {"error": "...", "status": N}} on one line (newlines in the message become spaces). */
    static String errorJson(int status, String message) {
        String oneLine = message == null ? "" : message.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
        try {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("error", oneLine);
            e.put("status", status);
            return JSON.writeValueAsString(e) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
