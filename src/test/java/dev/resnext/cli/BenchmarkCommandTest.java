package dev.resnext.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmark command's option checks and JSON output (a one-step run of the small preset). */
class BenchmarkCommandTest {

    private static String[] runExpectingError(int expectedCode, String... args) {
        CommandLine cli = Main.commandLine();
        StringWriter err = new StringWriter();
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        assertEquals(expectedCode, code, err.toString());
        return err.toString().strip().split("\n");
    }

    @Test
    void badOptionsGiveOneClearErrorLine() {
        assertTrue(runExpectingError(2, "benchmark", "--batch", "0")[0].contains("--batch must be at least 1"));
        assertTrue(runExpectingError(2, "benchmark", "--iters", "-3")[0].contains("--iters must be at least 1"));
        assertTrue(runExpectingError(2, "benchmark", "--warmup", "-1")[0].contains("--warmup"));
        assertTrue(runExpectingError(2, "benchmark", "--mode", "fly")[0].contains("--mode must be infer or train"));
        assertTrue(runExpectingError(2, "benchmark", "--model", "nope")[0].contains("unknown model preset"));
        assertTrue(runExpectingError(2, "benchmark", "--batch", "x")[0].startsWith("error:"));
    }

    @Test
    void jsonHasTheHeadlineFields() throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            code = Main.execute("benchmark", "--model", "small", "--input", "16x16x3", "--mode", "train",
                    "--batch", "2", "--iters", "2", "--warmup", "1", "--max-other", "-1", "--backend", "cpu", "--json");
        } finally {
            System.setOut(old);
        }
        assertEquals(0, code);
        JsonNode j = new ObjectMapper().readTree(buf.toString(StandardCharsets.UTF_8));
        assertTrue(j.get("imagesPerSecond").asDouble() > 0);
        assertTrue(j.get("peakRssMb").asDouble() > 0);
        assertEquals("CPU", j.get("backend").asText());
        assertEquals(2, j.get("iters").asInt());
        assertEquals("train", j.get("mode").asText());
        assertTrue(j.get("imagesPerSecondMin").asDouble() <= j.get("imagesPerSecondMax").asDouble());
    }
}
