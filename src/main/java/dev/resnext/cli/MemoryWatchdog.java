package dev.resnext.cli;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Ends a job with the one-line out-of-memory error when the process's resident memory passes a
 * limit, before the operating system's OOM killer would end it without a word.
 *
 * <p>Why not JavaCPP's {@code maxphysicalbytes}, which does the same: JavaCPP enforces it by reading
 * {@code /proc/self/statm} on every native allocation it tracks, and ND4J M2.1 makes one for the
 * shape information of every array and view: thousands per ResNeXt-50 training step, 2 to 12%
 * of the step's time on 2 cores (paired runs; CPU time per step 3.1-3.8 s without, 3.4-4.2 s with). Here one daemon thread looks four times a second. The launcher
 * sets the limit ({@value #LIMIT_PROPERTY}, 90% of RAM) and switches JavaCPP's check off.
 *
 * <p>On passing the limit the process halts with {@link Main#EXIT_INPUT}, like a kill: outputs are
 * written to temporary files and renamed, so nothing half-written is left, and {@code train}
 * removes a killed job's temporary files on its next run.
 */
final class MemoryWatchdog {
    private static final Logger log = LoggerFactory.getLogger(MemoryWatchdog.class);

    /** Resident-memory limit in bytes, or with a k/m/g suffix; unset or 0: no watchdog. */
    static final String LIMIT_PROPERTY = "resnext.maxResidentBytes";
    static final long PERIOD_MS = 250;

    private static final Path STATUS = Path.of("/proc/self/status");
    private static volatile Thread thread;

    private MemoryWatchdog() {
    }

    /** Starts the watchdog when {@value #LIMIT_PROPERTY} is set and /proc is readable (idempotent). */
    static synchronized void startIfConfigured(PrintStream err) {
        if (thread != null) {
            return;
        }
        long limit = dev.resnext.RuntimeSettings.current().maxResidentBytes();
        if (limit <= 0 || residentBytes() < 0) {
            return;
        }
        Thread t = new Thread(() -> watch(limit, err), "resnext-memory-watchdog");
        t.setDaemon(true);
        t.start();
        thread = t;
    }

    private static void watch(long limit, PrintStream err) {
        while (true) {
            long rss = residentBytes();
            if (rss > limit) {
                log.error("resident memory {} passed the limit {} ({})", mb(rss), mb(limit), LIMIT_PROPERTY);
                err.println(Main.OUT_OF_MEMORY);
                err.flush();
                Runtime.getRuntime().halt(Main.EXIT_INPUT);
            }
            try {
                Thread.sleep(PERIOD_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The process's resident memory (VmRSS), or -1 where /proc is missing. */
    static long residentBytes() {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    private static String mb(long bytes) {
        return (bytes >> 20) + " MB";
    }
}
