package dev.resnext.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs a command line in-process and captures its exit code, stdout and stderr (for tests). */
public final class CliRunner {
    /** What a command did. */
    public record Result(int code, String out, String err) {
        /** The error output without log lines (what a user sees as the error). */
        public String errorLines() {
            return err.lines().filter(l -> l.startsWith("error:")).reduce("", (a, b) -> a + b + "\n");
        }
    }

    private CliRunner() {
    }

    public static synchronized Result run(String... args) {
        PrintStream oldOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        try {
            System.setOut(new PrintStream(out, true));
            var cli = Main.commandLine();
            cli.setErr(new PrintWriter(err, true));
            int code = cli.execute(args);
            return new Result(code, out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
        }
    }
}
