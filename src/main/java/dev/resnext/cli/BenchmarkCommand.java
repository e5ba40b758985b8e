package dev.resnext.cli;

import dev.resnext.backend.BackendInfo;
import dev.resnext.bench.Benchmark;
import dev.resnext.bench.BenchmarkMode;
import dev.resnext.bench.BenchmarkResult;
import dev.resnext.bench.BenchmarkSpec;
import dev.resnext.model.OptimizerKind;
import dev.resnext.model.ResNeXtConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code resnext benchmark}: images per second and peak memory of inference or training steps. */
@Command(name = "benchmark", mixinStandardHelpOptions = true,
        description = {"Time inference or training steps of a model on random data: images/s (median, min, max "
                + "over the timed steps), time per step, peak resident and off-heap memory, backend and threads.",
                "Same protocol as shared/reference/torch/bench.py: warm-up steps, then timed steps; a step "
                        + "disturbed by other processes (more than --max-other cores) is repeated."})
public final class BenchmarkCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model = new ModelOptions();

    @Mixin
    BackendOption backend = new BackendOption();

    @Option(names = "--mode", paramLabel = "infer|train", defaultValue = "infer",
            description = "infer: forward pass only; train: graph.fit step (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "8", description = "Images per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--iters", paramLabel = "K", defaultValue = "" + BenchmarkSpec.DEFAULT_ITERS,
            description = "Timed steps (default: ${DEFAULT-VALUE}).")
    int iters;

    @Option(names = "--warmup", paramLabel = "W", defaultValue = "" + BenchmarkSpec.DEFAULT_WARMUP,
            description = "Untimed steps first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--max-other", paramLabel = "CORES", defaultValue = "" + BenchmarkSpec.DEFAULT_MAX_OTHER,
            description = "Repeat a timed step during which other processes used more cores than this on average; "
                    + "negative keeps every step (default: ${DEFAULT-VALUE}).")
    double maxOther;

    @Option(names = "--quiet-wait", paramLabel = "S", defaultValue = "" + BenchmarkSpec.DEFAULT_QUIET_WAIT,
            description = "Seconds to wait for a quiet machine before starting (default: ${DEFAULT-VALUE}).")
    double quietWait;

    @Option(names = "--budget", paramLabel = "S", defaultValue = "" + BenchmarkSpec.DEFAULT_BUDGET,
            description = "Seconds for the timed steps; fewer steps (at least 3) are timed when the last warm-up "
                    + "step says they would not fit (default: ${DEFAULT-VALUE}).")
    double budget;

    @Option(names = "--seed", defaultValue = "123", description = "Seed of the random input and labels.")
    long seed;

    @Option(names = "--own-optimizer", description = "Train with the model's own optimiser settings (learning "
            + "rate, weight decay) instead of the reference protocol's momentum SGD: learning rate 0.01, momentum "
            + "0.9, no weight decay, as bench.py's torch.optim.SGD(lr=0.01, momentum=0.9).")
    boolean ownOptimizer;

    @Mixin
    PrecisionOption precision = new PrecisionOption();

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() throws InterruptedException {
        BenchmarkMode m = switch (mode.toLowerCase(Locale.ROOT)) {
            case "infer", "inference" -> BenchmarkMode.INFER;
            case "train", "training" -> BenchmarkMode.TRAIN;
            default -> throw new IllegalArgumentException("--mode must be infer or train, was '" + mode + "'");
        };
        // validate every option before the (slow) backend start
        ResNeXtConfig config = model.resolve("small");
        if (!ownOptimizer) {
            // the PyTorch reference pays for no weight decay term; DL4J's Nesterov momentum costs the same
            // per step as PyTorch's heavy-ball momentum (one velocity buffer, a few element-wise ops)
            config = config.toBuilder().optimizer(OptimizerKind.NESTEROV).learningRate(0.01).momentum(0.9)
                    .weightDecay(0).build();
        }
        BenchmarkSpec spec = new BenchmarkSpec(config, m, batch, iters, warmup, maxOther, quietWait, budget, seed);
        dev.resnext.runtime.inference.InferencePlan.Precision p = precision.value();
        BackendInfo info = backend.initialize();
        PrintStream err = System.err;
        Benchmark bench = new Benchmark(spec, line -> {
            if (!json) err.println(line);
        }).precision(p);
        BenchmarkResult r = bench.run(info);
        PrintStream out = System.out;
        Map<String, Object> map = new java.util.LinkedHashMap<>(r.toMap());
        map.put("engine", bench.engine());
        if (m != dev.resnext.bench.BenchmarkMode.TRAIN) {
            map.put("precision", p.name().toLowerCase(Locale.ROOT));
        }
        if (json) {
            out.println(Json.write(map));
            return 0;
        }
        out.printf(Locale.ROOT, "%s %s, batch %d, input %s%n", r.model(), r.mode(), r.batch(), r.input());
        out.printf(Locale.ROOT, "images/s        %.2f median (min %.2f, max %.2f) over %d steps%n",
                r.imagesPerSecond(), r.imagesPerSecondMin(), r.imagesPerSecondMax(), r.stepSeconds().size());
        out.printf(Locale.ROOT, "time per step   %.3f s median, %.2f CPU s%n", r.medianSeconds(),
                r.cpuSecondsMedian());
        out.printf(Locale.ROOT, "latency         p50 %s ms, p90 %s ms, p99 %s ms%n",
                ((Map<?, ?>) map.get("latencyMs")).get("p50"), ((Map<?, ?>) map.get("latencyMs")).get("p90"),
                ((Map<?, ?>) map.get("latencyMs")).get("p99"));
        out.printf(Locale.ROOT, "peak RSS        %.0f MB (after build %.0f MB)%n", map.get("peakRssMb"),
                map.get("rssAfterBuildMb"));
        out.printf(Locale.ROOT, "peak off-heap   JavaCPP physical %.0f MB, JavaCPP tracked %.0f MB, "
                        + "ND4J workspaces %.0f MB%n", map.get("peakPhysicalBytesMb"),
                map.get("peakJavacppTotalBytesMb"), map.get("peakWorkspacesMb"));
        out.printf(Locale.ROOT, "JVM heap        peak %.0f MB of %.0f MB%n", map.get("peakHeapMb"), map.get("maxHeapMb"));
        if (r.discarded() > 0 || r.contaminatedKept() > 0) {
            out.printf(Locale.ROOT, "disturbed steps %d repeated, %d kept (other load up to %.2f cores)%n",
                    r.discarded(), r.contaminatedKept(), r.otherCoresMax());
        }
        out.println("backend         " + info.describe());
        return 0;
    }
}
