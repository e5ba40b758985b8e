package dev.resnext.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one registry of clean-up work to do if the process is stopped by a signal (SIGINT, SIGTERM,
 * SIGHUP) while a job writes its outputs: temporary files being written, outputs of a run that has
 * not reached a resumable state, folders it created. One JVM shutdown hook runs the registered
 * actions, newest first (a temporary file goes before the folder it is in). Actions are cancelled
 * when the work they guard has finished, so a normal exit runs none.
 *
 * <p>SIGKILL and power loss run no hook: for those, {@link AtomicFiles#removeLeftovers} removes
 * temporary files on the next run.
 */
public final class ExitCleanup {
    private static final Map<Object, Runnable> ACTIONS = new LinkedHashMap<>();
    private static boolean hookInstalled;
    private static boolean shuttingDown;

    /** Creates files or folders (may throw). */
    @FunctionalInterface
    public interface Creation {
        void create() throws java.io.IOException;
    }

    /** Cancels a registered action (idempotent). */
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    private ExitCleanup() {
    }

    /** Runs {@code action} at exit unless the returned registration is closed first. */
    public static Registration register(Runnable action) {
        try {
            return registerCreating(() -> { }, action);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e); // the empty creation throws nothing
        }
    }

    /**
     * Runs {@code creation}, then registers {@code cleanup}, as one step that the exit hook cannot
     * interleave with: once the process is stopping, nothing more is created (an exception says so),
     * so nothing is created after the clean-up ran.
     */
    public static Registration registerCreating(Creation creation, Runnable cleanup) throws java.io.IOException {
        Object key = new Object();
        Runnable action = cleanup;
        synchronized (ACTIONS) {
            if (shuttingDown) {
                throw new java.io.IOException("the process is stopping (signal)");
            }
            creation.create();
            if (!hookInstalled) {
                try {
                    Runtime.getRuntime().addShutdownHook(new Thread(ExitCleanup::runAll, "resnext-exit-cleanup"));
                    hookInstalled = true;
                } catch (IllegalStateException e) {
                    // already shutting down: the caller's own clean-up on failure still runs
                }
            }
            ACTIONS.put(key, action);
        }
        return () -> {
            synchronized (ACTIONS) {
                ACTIONS.remove(key);
            }
        };
    }

    /** Number of actions registered now (for tests: a finished command leaves none). */
    public static int pending() {
        synchronized (ACTIONS) {
            return ACTIONS.size();
        }
    }

    /** Runs and removes every registered action, newest first; also what the shutdown hook does. */
    static void runAll() {
        List<Runnable> todo;
        synchronized (ACTIONS) {
            shuttingDown = true;
            todo = new ArrayList<>(ACTIONS.values());
            ACTIONS.clear();
        }
        for (int i = todo.size() - 1; i >= 0; i--) {
            try {
                todo.get(i).run();
            } catch (RuntimeException ignored) {
                // best effort: one failed clean-up must not stop the others
            }
        }
    }
}
