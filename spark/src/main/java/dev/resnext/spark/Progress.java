package dev.resnext.spark;

import org.apache.spark.SparkStageInfo;
import org.apache.spark.api.java.JavaSparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Logs the progress of the running Spark stages every 10 s on the driver (tasks done of total,
 * failed tasks, elapsed time), so that a long job shows it is alive without Spark's console bar.
 */
final class Progress implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Progress.class);
    private final ScheduledExecutorService timer;
    private final long start = System.nanoTime();

    Progress(JavaSparkContext sc, String what) {
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "resnext-progress");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleAtFixedRate(() -> {
            StringBuilder sb = new StringBuilder();
            for (int id : sc.statusTracker().getActiveStageIds()) {
                SparkStageInfo s = sc.statusTracker().getStageInfo(id);
                if (s != null) {
                    sb.append(String.format(Locale.ROOT, " stage %d: %d/%d tasks%s", id, s.numCompletedTasks(),
                            s.numTasks(), s.numFailedTasks() > 0 ? " (" + s.numFailedTasks() + " failed, re-run)" : ""));
                }
            }
            log.info(String.format(Locale.ROOT, "%s: %.0f s%s", what, (System.nanoTime() - start) / 1e9, sb));
        }, 10, 10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
