package dev.resnext.bench;

import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.memory.AllocationsTracker;
import org.nd4j.linalg.api.memory.enums.AllocationKind;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Peak memory of this process while a benchmark runs.
 *
 * <p>Peak resident memory is the kernel's high-water mark ({@code VmHWM}), which no sampling can
 * miss. Off-heap figures have no such mark, so a daemon thread samples JavaCPP's counters every
 * few milliseconds: {@link Pointer#physicalBytes()} (the process's resident bytes as JavaCPP sees
 * them, the figure that {@code maxphysicalbytes} limits) and {@link Pointer#totalBytes()} (bytes
 * JavaCPP allocated and tracks, the figure {@code maxbytes} limits), and the bytes held by ND4J
 * workspaces of all threads (ND4J's {@link AllocationsTracker}). Call {@link #sample()} after each
 * step too, so that a short peak between two samples is not missed at step ends.
 */
public final class MemoryMonitor implements AutoCloseable {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final long SAMPLE_MS = 10;

    private final Thread sampler;
    private volatile boolean running = true;
    private volatile long peakPhysical;
    private volatile long peakTracked;
    private volatile long peakWorkspaces;

    private MemoryMonitor() {
        sampler = new Thread(this::loop, "memory-monitor");
        sampler.setDaemon(true);
        sampler.start();
    }

    /** Starts sampling. */
    public static MemoryMonitor start() {
        return new MemoryMonitor();
    }

    private void loop() {
        while (running) {
            sample();
            try {
                Thread.sleep(SAMPLE_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Takes one sample now (the sampler thread and the benchmark thread both call this). */
    public synchronized void sample() {
        peakPhysical = Math.max(peakPhysical, Pointer.physicalBytes());
        peakTracked = Math.max(peakTracked, Pointer.totalBytes());
        peakWorkspaces = Math.max(peakWorkspaces,
                AllocationsTracker.getInstance().bytesOnDevice(AllocationKind.WORKSPACE, 0));
    }

    /** Peak of {@link Pointer#physicalBytes()} seen. */
    public long peakPhysicalBytes() {
        return peakPhysical;
    }

    /** Peak of {@link Pointer#totalBytes()} seen. */
    public long peakTrackedBytes() {
        return peakTracked;
    }

    /** Peak total size of ND4J workspaces (all threads) seen. */
    public long peakWorkspaceBytes() {
        return peakWorkspaces;
    }

    /** The process's peak resident memory ({@code VmHWM}), or -1 where /proc is missing. */
    public static long peakRssBytes() {
        return statusKb("VmHWM:") * 1024;
    }

    /** The process's current resident memory ({@code VmRSS}), or -1 where /proc is missing. */
    public static long rssBytes() {
        return statusKb("VmRSS:") * 1024;
    }

    /** Sum of the peak usage of the JVM's heap pools. */
    public static long peakHeapBytes() {
        long sum = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
                sum += pool.getPeakUsage().getUsed();
            }
        }
        return sum;
    }

    private static long statusKb(String key) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }

    @Override
    public void close() {
        running = false;
        sampler.interrupt();
        try {
            sampler.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sample();
    }
}
