package dev.resnext.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Measures, over an interval, how many cores <em>other</em> processes kept busy, from
 * {@code /proc/stat} minus this process's own ticks ({@code /proc/self/stat}, all threads).
 * The benchmark machine may be shared, and a step slowed down by a neighbour says nothing about
 * this code; the PyTorch reference script uses the same rule, so the two stay comparable.
 * Off Linux every reading is 0 (nothing is discarded).
 */
final class CpuProbe {
    /** Kernel clock ticks per second; 100 on every mainstream Linux build. */
    private static final double HZ = 100.0;
    private static final Path STAT = Path.of("/proc/stat");
    private static final Path SELF = Path.of("/proc/self/stat");

    private final long busy0;
    private final long own0;
    private final long t0;

    private CpuProbe() {
        busy0 = busyTicks();
        own0 = ownTicks();
        t0 = System.nanoTime();
    }

    static CpuProbe start() {
        return new CpuProbe();
    }

    /** Seconds since {@link #start()}. */
    double elapsed() {
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Average number of cores used by other processes since {@link #start()}. */
    double otherCores() {
        double wall = Math.max(elapsed(), 1e-9);
        long own = ownTicks() - own0;
        long busy = busyTicks() - busy0;
        return Math.max(0, (busy - own) / HZ) / wall;
    }

    /** Process CPU seconds (user + system, all threads) since {@link #start()}. */
    double ownCpuSeconds() {
        return (ownTicks() - own0) / HZ;
    }

    /** Waits up to {@code maxWait} seconds, in 1 s probes, for other load to fall to {@code maxOther}. */
    static double[] waitQuiet(double maxOther, double maxWait) throws InterruptedException {
        long start = System.nanoTime();
        while (true) {
            CpuProbe p = start();
            Thread.sleep(1000);
            double other = p.otherCores();
            double waited = (System.nanoTime() - start) / 1e9;
            if (other <= maxOther || waited > maxWait) {
                return new double[] {waited, other};
            }
        }
    }

    private static long busyTicks() {
        try {
            String line = Files.readAllLines(STAT).get(0);
            String[] f = line.trim().split("\\s+");
            // user nice system irq softirq steal (idle and iowait left out)
            return parse(f, 1) + parse(f, 2) + parse(f, 3) + parse(f, 6) + parse(f, 7) + parse(f, 8);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static long ownTicks() {
        try {
            String s = Files.readString(SELF);
            // fields after the command name (which may contain spaces) start at "state"
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static long parse(String[] f, int i) {
        return i < f.length ? Long.parseLong(f[i]) : 0;
    }
}
