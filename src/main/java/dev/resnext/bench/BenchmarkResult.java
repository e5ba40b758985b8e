package dev.resnext.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Outcome of one benchmark run. Throughputs are images per second; "min" and "max" are taken over
 * the kept timed steps (the slowest step gives the minimum). Memory figures are bytes.
 *
 * @param model             preset or configuration name
 * @param mode              infer or train
 * @param batch             images per step
 * @param input             input shape HxWxC
 * @param stepSeconds       wall time of each kept timed step
 * @param warmupSeconds     wall time of each warm-up step
 * @param cpuSecondsMedian  median process CPU time (all threads) per kept step
 * @param discarded         timed steps thrown away because other processes were busy
 * @param contaminatedKept  disturbed steps kept because the budget ran out
 * @param otherCoresMax     highest load from other processes during a kept step (cores)
 * @param waitedQuietSeconds time spent waiting for a quiet machine before starting
 * @param peakRss           VmHWM: peak resident memory of the whole process
 * @param rssAfterBuild     resident memory after the network was built, before the first step
 * @param peakPhysical      peak of JavaCPP's physicalBytes()
 * @param peakTracked       peak of JavaCPP's totalBytes() (off-heap allocations it tracks)
 * @param peakWorkspaces    peak total size of ND4J workspaces on the benchmark thread
 * @param peakHeap          peak JVM heap use
 * @param maxHeap           JVM heap limit (-Xmx)
 * @param maxBytes          JavaCPP maxbytes limit
 * @param maxPhysicalBytes  JavaCPP maxphysicalbytes limit
 * @param backend           "CPU" or "CUDA"
 * @param threads           native (OpenMP) threads
 * @param backendInfo       full backend description
 */
public record BenchmarkResult(String model, String mode, int batch, String input, List<Double> stepSeconds,
                              List<Double> warmupSeconds, double cpuSecondsMedian, int discarded,
                              int contaminatedKept, double otherCoresMax, double waitedQuietSeconds,
                              long peakRss, long rssAfterBuild, long peakPhysical, long peakTracked,
                              long peakWorkspaces, long peakHeap, long maxHeap, long maxBytes, long maxPhysicalBytes,
                              String backend, int threads, Map<String, Object> backendInfo) {

    private static final double MB = 1024.0 * 1024.0;

    /** Median step time in seconds. */
    public double medianSeconds() {
        return Stats.median(stepSeconds);
    }

    /** Images per second at the median step time: the headline figure. */
    public double imagesPerSecond() {
        return batch / medianSeconds();
    }

    /** Images per second of the slowest kept step. */
    public double imagesPerSecondMin() {
        return batch / Stats.max(stepSeconds);
    }

    /** Images per second of the fastest kept step. */
    public double imagesPerSecondMax() {
        return batch / Stats.min(stepSeconds);
    }

    /** Ordered map for JSON output; sizes in MB, rounded. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", model);
        m.put("mode", mode);
        m.put("batch", batch);
        m.put("input", input);
        m.put("imagesPerSecond", round(imagesPerSecond(), 3));
        m.put("imagesPerSecondMin", round(imagesPerSecondMin(), 3));
        m.put("imagesPerSecondMax", round(imagesPerSecondMax(), 3));
        m.put("secondsPerStep", round(medianSeconds(), 4));
        m.put("secondsPerStepMin", round(Stats.min(stepSeconds), 4));
        m.put("secondsPerStepMax", round(Stats.max(stepSeconds), 4));
        Map<String, Object> latency = new LinkedHashMap<>();
        latency.put("p50", round(Stats.quantile(stepSeconds, 0.50) * 1000, 2));
        latency.put("p90", round(Stats.quantile(stepSeconds, 0.90) * 1000, 2));
        latency.put("p99", round(Stats.quantile(stepSeconds, 0.99) * 1000, 2));
        m.put("latencyMs", latency);
        m.put("iters", stepSeconds.size());
        m.put("stepSeconds", stepSeconds.stream().map(t -> round(t, 4)).toList());
        m.put("warmupSeconds", warmupSeconds.stream().map(t -> round(t, 4)).toList());
        m.put("cpuSecondsPerStep", round(cpuSecondsMedian, 3));
        m.put("discardedSteps", discarded);
        m.put("contaminatedKept", contaminatedKept);
        m.put("otherCoresMax", round(otherCoresMax, 2));
        m.put("waitedQuietSeconds", round(waitedQuietSeconds, 1));
        m.put("peakRssMb", mb(peakRss));
        m.put("rssAfterBuildMb", mb(rssAfterBuild));
        m.put("peakPhysicalBytesMb", mb(peakPhysical));
        m.put("peakJavacppTotalBytesMb", mb(peakTracked));
        m.put("peakWorkspacesMb", mb(peakWorkspaces));
        m.put("peakHeapMb", mb(peakHeap));
        m.put("maxHeapMb", mb(maxHeap));
        m.put("javacppMaxBytesMb", mb(maxBytes));
        m.put("javacppMaxPhysicalBytesMb", mb(maxPhysicalBytes));
        m.put("backend", backend);
        m.put("threads", threads);
        m.put("backendInfo", backendInfo);
        return m;
    }

    static double mb(long bytes) {
        return bytes < 0 ? -1 : round(bytes / MB, 1);
    }

    static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
