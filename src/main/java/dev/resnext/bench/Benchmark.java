package dev.resnext.bench;

import dev.resnext.runtime.GraphRuntime;

import dev.resnext.backend.BackendInfo;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import org.bytedeco.javacpp.Pointer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Times inference or training steps of a freshly initialised ResNeXt on random data.
 *
 * <p>The protocol mirrors the PyTorch reference script ({@code shared/reference/torch/bench.py}) so
 * that the two can be compared: fixed random input and labels, {@code warmup} untimed steps, then
 * {@code iters} timed steps, each a full {@code graph.output(...)} (inference) or
 * {@code graph.fit(dataSet)} (forward, loss, backward and update). On a shared machine a timed step
 * during which other processes were busy is repeated, within the time budget.
 */
public final class Benchmark {
    private final BenchmarkSpec spec;
    private final Consumer<String> progress;
    private dev.resnext.runtime.inference.InferencePlan.Precision precision =
            dev.resnext.runtime.inference.InferencePlan.Precision.FP32;
    private String engine = "graph";

    /**
     * @param spec     what to run
     * @param progress receives one line per step (e.g. for stderr); may ignore them
     */
    public Benchmark(BenchmarkSpec spec, Consumer<String> progress) {
        this.spec = spec;
        this.progress = progress;
    }

    /** The inference plan's number format (inference mode only). */
    public Benchmark precision(dev.resnext.runtime.inference.InferencePlan.Precision p) {
        this.precision = p;
        return this;
    }

    /** What ran the steps after {@link #run}: "plan" (the compiled inference or training plan) or "graph". */
    public String engine() {
        return engine;
    }

    /** Builds the network, runs the steps and returns the measurements. */
    public BenchmarkResult run(BackendInfo backend) throws InterruptedException {
        ResNeXtConfig c = spec.config();
        try (MemoryMonitor memory = MemoryMonitor.start()) {
            ComputationGraph graph = GraphRuntime.create(ResNeXtGraphFactory.build(c));
            if (spec.mode() != BenchmarkMode.TRAIN) {
                GraphRuntime.prepare(graph, GraphRuntime.Mode.INFERENCE, precision);
                engine = GraphRuntime.hasInferencePlan(graph) ? "plan" : "graph";
            } else {
                engine = GraphRuntime.hasTrainingPlan(graph) ? "plan" : "graph";
            }
            DataType dt = graph.getConfiguration().getDataType();
            Nd4j.getRandom().setSeed(spec.seed());
            INDArray features = Nd4j.randn(dt, spec.batch(), c.getInputChannels(), c.getInputHeight(),
                    c.getInputWidth());
            INDArray labels = randomLabels(c, dt);
            DataSet data = new DataSet(features, labels);
            Runnable step = spec.mode() == BenchmarkMode.TRAIN
                    ? () -> GraphRuntime.fit(graph, data)
                    : () -> GraphRuntime.output(graph, features);
            long rssAfterBuild = MemoryMonitor.rssBytes();

            double waited = 0;
            if (spec.maxOther() >= 0 && spec.quietWait() > 0) {
                waited = CpuProbe.waitQuiet(spec.maxOther(), spec.quietWait())[0];
            }

            List<Double> warm = new ArrayList<>();
            for (int i = 0; i < spec.warmup(); i++) {
                CpuProbe p = CpuProbe.start();
                step.run();
                warm.add(p.elapsed());
                memory.sample();
                progress.accept(String.format(Locale.ROOT, "warm-up %d/%d: %.3f s", i + 1, spec.warmup(),
                        p.elapsed()));
            }
            int iters = spec.iters();
            if (!warm.isEmpty() && warm.get(warm.size() - 1) * iters > spec.budget()) {
                iters = Math.max(Math.min(3, iters), (int) (spec.budget() / warm.get(warm.size() - 1)));
                progress.accept("time budget: timing " + iters + " steps instead of " + spec.iters());
            }

            List<Double> times = new ArrayList<>();
            List<Double> cpu = new ArrayList<>();
            int discarded = 0;
            int contaminated = 0;
            double otherMax = 0;
            long loopStart = System.nanoTime();
            while (times.size() < iters) {
                CpuProbe p = CpuProbe.start();
                step.run();
                double wall = p.elapsed();
                double other = p.otherCores();
                double ownCpu = p.ownCpuSeconds();
                memory.sample();
                boolean overBudget = (System.nanoTime() - loopStart) / 1e9 > spec.budget() + spec.quietWait();
                if (spec.maxOther() >= 0 && other > spec.maxOther()) {
                    discarded++;
                    progress.accept(String.format(Locale.ROOT,
                            "step %.3f s discarded: other processes used %.2f cores", wall, other));
                    if (!overBudget) {
                        CpuProbe.waitQuiet(spec.maxOther(), 30);
                        continue;
                    }
                    if (times.size() >= Math.min(3, iters)) {
                        break;
                    }
                    contaminated++;
                }
                times.add(wall);
                cpu.add(ownCpu);
                otherMax = Math.max(otherMax, other);
                progress.accept(String.format(Locale.ROOT, "step %d/%d: %.3f s, %.2f img/s", times.size(), iters,
                        wall, spec.batch() / wall));
            }
            memory.close();
            return new BenchmarkResult(c.getName(), spec.mode().name().toLowerCase(Locale.ROOT), spec.batch(),
                    c.inputSpec(), times, warm, Stats.median(cpu), discarded, contaminated, otherMax, waited,
                    MemoryMonitor.peakRssBytes(), rssAfterBuild, memory.peakPhysicalBytes(),
                    memory.peakTrackedBytes(), memory.peakWorkspaceBytes(), MemoryMonitor.peakHeapBytes(),
                    Runtime.getRuntime().maxMemory(), Pointer.maxBytes(), Pointer.maxPhysicalBytes(),
                    backend.backend(), backend.threads(), backend.toMap());
        }
    }

    private INDArray randomLabels(ResNeXtConfig c, DataType dt) {
        Random rnd = new Random(spec.seed());
        int n = c.getNumClasses();
        INDArray labels = Nd4j.zeros(dt, spec.batch(), n);
        for (int i = 0; i < spec.batch(); i++) {
            if (c.isMultiLabel()) {
                for (int k = 0; k < n; k++) {
                    labels.putScalar(i, k, rnd.nextBoolean() ? 1 : 0);
                }
            } else {
                labels.putScalar(i, rnd.nextInt(n), 1);
            }
        }
        return labels;
    }
}
