package dev.resnext.cli;

import dev.resnext.InvalidSettingException;
import dev.resnext.serve.ModelServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code resnext serve}: a model zip behind an HTTP API and a web page. */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve a model zip over HTTP: POST /v1/predict (one image), POST /v1/predict/batch, "
                + "GET /v1/model, /healthz, /readyz, /metrics (Prometheus), POST /v1/admin/reload, and a web page "
                + "at /. Concurrent requests are batched into one forward pass. SIGTERM or Ctrl-C stops accepting, "
                + "finishes the requests in flight, then exits. See docs/serving.md."})
public final class ServeCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    @Option(names = "--model", required = true, paramLabel = "MODEL.zip",
            description = "Model zip to serve; POST /v1/admin/reload re-reads this file.")
    Path model;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8080",
            description = "Port (default: ${DEFAULT-VALUE}; 0 picks a free one and logs it).")
    int port = 8080;

    @Option(names = "--host", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
            description = "Address to listen on (default: ${DEFAULT-VALUE}, this machine only; 0.0.0.0 for every "
                    + "interface).")
    String host = "127.0.0.1";

    @Option(names = "--max-batch", paramLabel = "N", defaultValue = "16",
            description = "Most images per forward pass (default: ${DEFAULT-VALUE}; 1 turns batching off).")
    int maxBatch = 16;

    @Option(names = "--max-wait-ms", paramLabel = "MS", defaultValue = "5",
            description = "How long a request waits for others to share its forward pass (default: ${DEFAULT-VALUE}).")
    long maxWaitMs = 5;

    @Option(names = "--max-upload-mb", paramLabel = "MB", defaultValue = "32",
            description = "Largest request body (default: ${DEFAULT-VALUE}).")
    long maxUploadMb = 32;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "File holding the bearer token (at least 16 characters) that POST /v1/admin/reload needs; "
                    + "without it, reloading over HTTP is disabled.")
    Path tokenFile;

    @Mixin
    PrecisionOption precision = new PrecisionOption();

    @Mixin
    BackendOption backend = new BackendOption();

    @Mixin
    ImageLimitOption imageLimit = new ImageLimitOption();

    @Override
    public Integer call() throws Exception {
        imageLimit.apply();
        if (maxUploadMb < 1 || maxUploadMb > 4096) {
            throw new InvalidSettingException("max-upload-mb", "must be 1..4096, was " + maxUploadMb);
        }
        String token = null;
        if (tokenFile != null) {
            try {
                token = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                throw new InvalidSettingException("token-file", ": cannot read " + tokenFile + " ("
                        + e.getClass().getSimpleName() + ")");
            }
            if (token.isEmpty()) throw new InvalidSettingException("token-file", ": " + tokenFile + " is empty");
        }
        ModelServer server = ModelServer.builder()
                .setModel(model)
                .optHost(host)
                .optPort(port)
                .optMaxBatch(maxBatch)
                .optMaxWait(Duration.ofMillis(maxWaitMs))
                .optMaxUploadBytes(maxUploadMb << 20)
                .optAdminToken(token)
                .optPrecision(precision.value())
                .build();
        backend.initialize();
        server.start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stop();
            stopped.countDown();
        }, "resnext-serve-stop"));
        System.err.println("serving " + model.getFileName() + " on " + server.uri() + " (open it in a browser; "
                + "Ctrl-C stops)");
        server.join();
        stopped.await();
        log.debug("serve finished");
        return 0;
    }
}
