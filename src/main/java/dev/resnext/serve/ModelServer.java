package dev.resnext.serve;

import dev.resnext.InvalidSettingException;
import dev.resnext.ResNeXtException;
import dev.resnext.runtime.inference.InferencePlan;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.BindException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A model zip behind an HTTP API and a web page.
 *
 * <pre>{@code
 * ModelServer server = ModelServer.builder().setModel(Path.of("models/model.zip")).optPort(8080).build();
 * server.start();          // loads the model, then listens on 127.0.0.1:8080
 * ...
 * server.stop();           // stops accepting, finishes the requests in flight
 * }</pre>
 *
 * <p>Endpoints: {@code POST /v1/predict}, {@code POST /v1/predict/batch}, {@code GET /v1/model},
 * {@code GET /healthz}, {@code GET /readyz}, {@code GET /metrics} (Prometheus), {@code POST /v1/admin/reload}
 * (bearer token), and the web page at {@code /}; see docs/serving.md. The server never reads a file
 * a client names: images come in the request, and a reload re-reads the zip the server was started
 * with (replace that file, then ask for the reload).
 */
public final class ModelServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ModelServer.class);

    private final Path model;
    private final String host;
    private final int requestedPort;
    private final int maxBatch;
    private final Duration maxWait;
    private final long maxUploadBytes;
    private final String adminToken;
    private final int queueCapacity;
    private final Duration requestTimeout;
    private final Duration stopTimeout;
    private final InferencePlan.Precision precision;

    private final ServeMetrics metrics = new ServeMetrics();
    private final Arrivals arrivals = new Arrivals();
    private final AtomicReference<ServedModel> current = new AtomicReference<>();
    private final AtomicInteger generation = new AtomicInteger();
    private final Object reloadLock = new Object();
    private volatile boolean ready;
    private Server jetty;
    private ServerConnector connector;

    private ModelServer(Builder b) {
        this.model = b.model;
        this.host = b.host;
        this.requestedPort = b.port;
        this.maxBatch = b.maxBatch;
        this.maxWait = b.maxWait;
        this.maxUploadBytes = b.maxUploadBytes;
        this.adminToken = b.adminToken;
        this.queueCapacity = b.queueCapacity;
        this.requestTimeout = b.requestTimeout;
        this.stopTimeout = b.stopTimeout;
        this.precision = b.precision;
    }

    /** A builder: {@link Builder#setModel} is required, everything else has a default. */
    public static Builder builder() {
        return new Builder();
    }

    /** Options of a {@link ModelServer}; {@link #build()} checks them. */
    public static final class Builder {
        private Path model;
        private String host = "127.0.0.1";
        private int port = 8080;
        private int maxBatch = 16;
        private Duration maxWait = Duration.ofMillis(5);
        private long maxUploadBytes = 32L << 20;
        private String adminToken;
        private int queueCapacity = 256;
        private Duration requestTimeout = Duration.ofSeconds(60);
        private Duration stopTimeout = Duration.ofSeconds(30);
        private InferencePlan.Precision precision = InferencePlan.Precision.FP32;

        private Builder() {
        }

        /** The model zip to serve (required); a reload re-reads this file. */
        public Builder setModel(Path zip) {
            this.model = Objects.requireNonNull(zip, "model");
            return this;
        }

        /** Address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for every interface). */
        public Builder optHost(String host) {
            this.host = host;
            return this;
        }

        /** Port (default 8080; 0 picks a free one, see {@link ModelServer#port()}). */
        public Builder optPort(int port) {
            this.port = port;
            return this;
        }

        /** Most images per forward pass (default 16; 1 turns batching off). */
        public Builder optMaxBatch(int n) {
            this.maxBatch = n;
            return this;
        }

        /** How long the first request of a batch waits for others (default 5 ms). */
        public Builder optMaxWait(Duration d) {
            this.maxWait = d;
            return this;
        }

        /** Largest request body (default 32 MB). */
        public Builder optMaxUploadBytes(long bytes) {
            this.maxUploadBytes = bytes;
            return this;
        }

        /** Bearer token of the admin endpoint; without one, reloading over HTTP is disabled. */
        public Builder optAdminToken(String token) {
            this.adminToken = token;
            return this;
        }

        /** Requests that may wait for the network before new ones are refused with 503 (default 256). */
        public Builder optQueueCapacity(int n) {
            this.queueCapacity = n;
            return this;
        }

        /** Longest a request waits for its result before a 503 (default 60 s). */
        public Builder optRequestTimeout(Duration d) {
            this.requestTimeout = d;
            return this;
        }

        /** Longest a stop waits for the requests in flight (default 30 s). */
        public Builder optStopTimeout(Duration d) {
            this.stopTimeout = d;
            return this;
        }

        /** Number format of inference (default fp32; bf16 where the CPU has AVX512_BF16 or AMX). */
        public Builder optPrecision(InferencePlan.Precision p) {
            this.precision = Objects.requireNonNull(p, "precision");
            return this;
        }

        /** Checks the options. */
        public ModelServer build() {
            if (model == null) throw new InvalidSettingException("model", "is required");
            if (host == null || host.isBlank()) throw new InvalidSettingException("host", "must not be empty");
            if (port < 0 || port > 65535) throw new InvalidSettingException("port", "must be 0..65535, was " + port);
            if (maxBatch < 1 || maxBatch > 4096) {
                throw new InvalidSettingException("max-batch", "must be 1..4096, was " + maxBatch);
            }
            if (maxWait == null || maxWait.isNegative() || maxWait.compareTo(Duration.ofSeconds(10)) > 0) {
                throw new InvalidSettingException("max-wait-ms", "must be 0..10000 ms, was "
                        + (maxWait == null ? "null" : maxWait.toMillis()));
            }
            if (maxUploadBytes < 1024) {
                throw new InvalidSettingException("max-upload-mb", "must be at least 1 KB, was " + maxUploadBytes
                        + " bytes");
            }
            if (adminToken != null && adminToken.strip().length() < 16) {
                throw new InvalidSettingException("token-file", ": the admin token must have at least 16 characters");
            }
            if (queueCapacity < 1) throw new InvalidSettingException("queue", "must be at least 1, was " + queueCapacity);
            if (requestTimeout == null || requestTimeout.isNegative() || requestTimeout.isZero()) {
                throw new InvalidSettingException("request-timeout", "must be positive");
            }
            if (stopTimeout == null || stopTimeout.isNegative()) {
                throw new InvalidSettingException("stop-timeout", "must not be negative");
            }
            if (adminToken != null) adminToken = adminToken.strip();
            return new ModelServer(this);
        }
    }

    /**
     * Loads the model, then starts listening.
     *
     * @throws ResNeXtException when the model cannot be loaded or the address cannot be bound
     */
    public synchronized void start() {
        if (jetty != null) throw new IllegalStateException("already started");
        if (!Files.isRegularFile(model)) {
            throw new ResNeXtException("model " + model + " does not exist or is not a file");
        }
        ServedModel m = loadModel();
        current.set(m);
        metrics.modelLoaded(m.loadSeconds(), m.name(), m.sha256());

        QueuedThreadPool threads = new QueuedThreadPool(64, 4);
        threads.setName("resnext-http");
        threads.setDaemon(true);
        Server server = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        connector = new ServerConnector(server, new HttpConnectionFactory(http));
        connector.setHost(host);
        connector.setPort(requestedPort);
        server.addConnector(connector);
        server.setHandler(new GracefulHandler(new ApiHandler(this)));
        server.setErrorHandler(new JsonErrorHandler());
        server.setStopTimeout(stopTimeout.toMillis());
        server.setStopAtShutdown(false); // the caller decides (the CLI stops on SIGTERM)
        try {
            server.start();
        } catch (Exception e) {
            m.queue().close(1000);
            current.set(null);
            try {
                server.stop();
            } catch (Exception ignored) {
                // nothing was started
            }
            Throwable cause = e instanceof IOException && e.getCause() instanceof BindException ? e.getCause() : e;
            throw new ResNeXtException("cannot listen on " + host + ":" + requestedPort + ": "
                    + (cause instanceof BindException ? "the address is in use or not available here ("
                    + cause.getMessage() + ")" : cause.getMessage()), e);
        }
        jetty = server;
        ready = true;
        log.info("serving {} on {} (batches of up to {}, waiting up to {} ms)", m.name(), uri(), maxBatch,
                maxWait.toMillis());
    }

    /** The port listened on (the free port chosen when the builder asked for 0). */
    public int port() {
        if (connector == null) throw new IllegalStateException("not started");
        return connector.getLocalPort();
    }

    /** The server's base address, e.g. {@code http://127.0.0.1:8080/}. */
    public URI uri() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return URI.create("http://" + h + ":" + port() + "/");
    }

    /** Blocks until the server has stopped. */
    public void join() throws InterruptedException {
        Server s;
        synchronized (this) {
            s = jetty;
        }
        if (s != null) s.join();
    }

    /**
     * Stops accepting requests, lets the requests in flight finish (at most the stop timeout), then
     * stops the model's batching thread. Safe to call more than once.
     */
    public void stop() {
        Server s;
        synchronized (this) {
            s = jetty;
            ready = false;
        }
        if (s == null) return;
        log.info("stopping: no new requests; finishing the ones in flight");
        try {
            s.stop();
        } catch (Exception e) {
            log.warn("stopping the HTTP server: {}", e.toString());
        }
        ServedModel m = current.get();
        if (m != null) m.queue().close(stopTimeout.toMillis());
        log.info("stopped");
    }

    @Override
    public void close() {
        stop();
    }

    /**
     * Loads the zip the server was started with again (after it was replaced) beside the model in use,
     * and switches to it; requests in flight finish on the old model.
     *
     * @return a one-line description of the switch
     * @throws ResNeXtException when the new zip cannot be loaded; the old model keeps serving
     */
    public String reload() {
        synchronized (reloadLock) {
            ServedModel old = current.get();
            ServedModel fresh;
            try {
                fresh = loadModel();
            } catch (RuntimeException e) {
                metrics.reload(false);
                log.warn("reload refused, still serving {}: {}", old == null ? "nothing" : old.name(), e.getMessage());
                throw e;
            } catch (OutOfMemoryError e) {
                metrics.reload(false);
                throw new ResNeXtException("not enough memory to load the new model beside the one in use");
            }
            current.set(fresh);
            metrics.modelLoaded(fresh.loadSeconds(), fresh.name(), fresh.sha256());
            metrics.reload(true);
            if (old != null) old.retire();
            String msg = "now serving " + fresh.name() + " (sha256 " + fresh.sha256().substring(0, 12) + ")"
                    + (old == null ? "" : ", was sha256 " + old.sha256().substring(0, 12));
            log.info(msg);
            return msg;
        }
    }

    /** Loads the zip the server was started with, with its own batching queue. */
    private ServedModel loadModel() {
        return ServedModel.load(model, precision, maxBatch, maxWait.toNanos(), queueCapacity, metrics, arrivals,
                generation.incrementAndGet());
    }

    /** The model in use, registered as used by the caller; release it with {@link ServedModel#release()}. */
    ServedModel acquire() {
        while (true) {
            ServedModel m = current.get();
            if (m == null) throw new HttpProblem(503, "no model is loaded");
            if (m.acquire()) return m;
        }
    }

    ServedModel currentModel() {
        return current.get();
    }

    boolean ready() {
        return ready;
    }

    ServeMetrics metrics() {
        return metrics;
    }

    /** Requests being received or decoded, which the batching queues wait for. */
    Arrivals arrivals() {
        return arrivals;
    }

    long maxUploadBytes() {
        return maxUploadBytes;
    }

    int maxBatch() {
        return maxBatch;
    }

    Duration maxWait() {
        return maxWait;
    }

    Duration requestTimeout() {
        return requestTimeout;
    }

    String adminToken() {
        return adminToken;
    }
}
