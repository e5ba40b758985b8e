package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.backend.BackendUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * Entry point of {@code scripts/resnext}: one sub-command per job.
 * User mistakes end with one "error:" line on stderr and exit code 2 (bad option) or 1 (bad input);
 * stack traces are shown only for internal errors, or with RESNEXT_DEBUG=1.
 */
@Command(name = "resnext", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Build, train, save, reuse and fine-tune ResNeXt image classifiers (DL4J).",
        subcommands = {InfoCommand.class, TrainCommand.class, FinetuneCommand.class, CalibrateCommand.class, EvaluateCommand.class,
                PredictCommand.class, ExplainCommand.class, ImportTorchvisionCommand.class, ForwardCommand.class,
                ExportCommand.class, ServeCommand.class, BenchmarkCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(Main.class);

    /** Exit code for a bad file, model or data (the command ran and refused). */
    public static final int EXIT_INPUT = 1;
    /** Exit code for a bad command line. */
    public static final int EXIT_USAGE = 2;
    /** Exit code for an unexpected internal error. */
    public static final int EXIT_INTERNAL = 3;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command (try: resnext --help)");
    }

    public static void main(String[] args) {
        String bad = MemorySettings.problem();
        if (bad != null) {
            // before anything loads JavaCPP, which would throw its own multi-line error on these
            System.err.println("error: " + bad);
            System.exit(EXIT_USAGE);
        }
        MemoryWatchdog.startIfConfigured(System.err);
        System.exit(execute(args));
    }

    /** Runs a command line and returns the exit code (used by tests). */
    public static int execute(String... args) {
        CommandLine cli = commandLine();
        return cli.execute(args);
    }

    /** The configured picocli command line. */
    public static CommandLine commandLine() {
        if (System.getProperty(CRASH_DUMPS) == null && !"1".equals(System.getenv("RESNEXT_DEBUG"))) {
            // DL4J writes a memory crash dump into the working folder on out-of-memory; a failed job
            // writes nothing (RESNEXT_DEBUG=1 keeps the dumps)
            System.setProperty(CRASH_DUMPS, "false");
        }
        CommandLine cli = new CommandLine(new Main());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("error: " + ex.getMessage());
            if (!CommandLine.UnmatchedArgumentException.printSuggestions(ex, err)) {
                err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            }
            return EXIT_USAGE;
        });
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            boolean debug = "1".equals(System.getenv("RESNEXT_DEBUG"));
            if (isUserError(ex)) {
                err.println("error: " + message(ex) + hint(ex));
                if (debug) ex.printStackTrace(err);
                return ex instanceof IllegalArgumentException ? EXIT_USAGE : EXIT_INPUT;
            }
            if (causedByOutOfMemory(ex)) {
                err.println(OUT_OF_MEMORY);
                if (debug) ex.printStackTrace(err);
                return EXIT_INPUT;
            }
            // last resort: one line that says what the command was handling, so the input can be found
            err.println("error: internal error in '" + commandLine.getCommandSpec().qualifiedName() + "'"
                    + inputs(parseResult) + ": " + ex + "; please report it (RESNEXT_DEBUG=1 shows the stack trace)");
            log.debug("internal error", ex);
            if (debug) ex.printStackTrace(err);
            return EXIT_INTERNAL;
        });
        // An OutOfMemoryError thrown by the command itself is an Error, which picocli does not pass to
        // the exception handler: catch it here so that it also ends in one line, not a stack trace.
        CommandLine.IExecutionStrategy run = new CommandLine.RunLast();
        cli.setExecutionStrategy(parseResult -> {
            try {
                return run.execute(parseResult);
            } catch (OutOfMemoryError e) {
                PrintWriter err = cli.getErr();
                err.println(OUT_OF_MEMORY);
                if ("1".equals(System.getenv("RESNEXT_DEBUG"))) e.printStackTrace(err);
                err.flush();
                return EXIT_INPUT;
            }
        });
        return cli;
    }

    private static final String CRASH_DUMPS = "org.deeplearning4j.crash.reporting.enabled";

    /** The one line printed when a job runs out of (heap or native) memory. */
    static final String OUT_OF_MEMORY = "error: out of memory; lower --batch (or the input size), or raise "
            + "RESNEXT_HEAP (Java heap) / RESNEXT_OFFHEAP (native memory)";

    /** What the user can change, for typed errors of library code (which names no options). */
    /**
     * The error's message in the command line's terms: a library setting becomes the option that
     * sets it (every setting name is its option's name without the dashes).
     */
    static String message(Throwable ex) {
        if (ex instanceof dev.resnext.InvalidSettingException s) {
            return dev.resnext.InvalidSettingException.join("--" + s.setting(), s.problem());
        }
        if (ex instanceof BackendUnavailableException b && b.requested() != null) {
            return "--" + ex.getMessage();   // "backend cuda: ..." names the option's value
        }
        return ex.getMessage();
    }

    private static String hint(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof dev.resnext.data.ImageTooLargeException) {
                return "; raise --max-image-pixels to read it";
            }
            if (t instanceof dev.resnext.data.GroupSplitException g && g.groups() > 0) {
                return "; lower --folds";
            }
            if (t instanceof dev.resnext.train.TrainingDivergedException) {
                return " (--lr, --warmup-epochs)";
            }
            if (String.valueOf(t.getMessage()).endsWith("(remove it, or skip unreadable files)")) {
                return " (--skip-unreadable)";
            }
            if (t instanceof dev.resnext.data.manifest.UncertainLabelsException) {
                return " (--uncertain ignore|zeros|ones)";
            }
        }
        return "";
    }

    /** The options and files the command was given, e.g. " (--data x, --config c.json, inputs [a.png])". */
    static String inputs(CommandLine.ParseResult parseResult) {
        if (parseResult == null) return "";
        CommandLine.ParseResult pr = parseResult;
        while (pr.subcommand() != null) pr = pr.subcommand();
        java.util.List<String> parts = new java.util.ArrayList<>();
        for (CommandLine.Model.OptionSpec o : pr.matchedOptions()) {
            Object v = o.getValue();
            if (v != null && !(v instanceof Boolean)) parts.add(o.longestName() + " " + v);
        }
        for (CommandLine.Model.PositionalParamSpec p : pr.matchedPositionals()) {
            parts.add(String.valueOf((Object) p.getValue()));
        }
        return parts.isEmpty() ? "" : " while handling " + String.join(", ", parts);
    }

    private static boolean isUserError(Throwable ex) {
        return ex instanceof ResNeXtException || ex instanceof IllegalArgumentException
                || ex instanceof BackendUnavailableException;
    }

    private static boolean causedByOutOfMemory(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof OutOfMemoryError) return true;
            String m = String.valueOf(t.getMessage());
            if (m.contains("Cannot allocate") || m.contains("Physical memory usage is too high")
                    || m.contains("out of memory")) {
                return true;
            }
        }
        return false;
    }
}
