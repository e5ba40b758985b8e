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

    /** Asserts a non-zero exit with exactly one "error:" line containing {@code expected}, and no stack trace. */
    public static void assertOneLineError(Result r, String expected) {
        org.junit.jupiter.api.Assertions.assertNotEquals(0, r.code(), r.out() + r.err());
        String errors = r.errorLines();
        org.junit.jupiter.api.Assertions.assertEquals(1, errors.lines().count(), r.err());
        org.junit.jupiter.api.Assertions.assertTrue(errors.contains(expected),
                "expected '" + expected + "' in: " + r.err());
        org.junit.jupiter.api.Assertions.assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
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
