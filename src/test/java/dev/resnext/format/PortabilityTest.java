package dev.resnext.format;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.io.NpyFiles;
import dev.resnext.model.VertexNames;
import dev.resnext.runtime.GraphOutputs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A saved zip is DL4J's and only DL4J's: a program with DL4J and ND4J but none of this project's
 * classes restores it and gets the project's outputs; and the project's runtime works when DL4J is
 * loaded by another class loader than its own classes (as on a cluster that provides DL4J).
 * Both run in child JVMs whose class path has the test class path's jars without the project.
 */
class PortabilityTest {

    @TempDir
    Path dir;

    @BeforeAll
    static void backend() {
        Backends.initialize(BackendChoice.CPU);
    }

    @Test
    void plainDl4jProgramRestoresAV2ZipWithTheSameOutputs() throws Exception {
        Path zip = dir.resolve("model.zip");
        Files.copy(FormatCompatibilityTest.resource("v2/model.zip"), zip);
        Path in = FormatCompatibilityTest.resource("v2/input.npy");
        Path out = dir.resolve("plain.npy");
        String log = runSource("PlainDl4j.java", zip.toString(), in.toString(), out.toString());
        assertTrue(log.contains("ok"), log);
        INDArray plain = Nd4j.createFromNpyFile(out.toFile());
        INDArray ours = GraphOutputs.logits(ModelZip.load(zip).graph(), NpyFiles.readNpy(in), 8);
        assertEquals(ours.length(), plain.length());
        double diff = ours.sub(plain.castTo(ours.dataType())).amaxNumber().doubleValue();
        double scale = Math.max(1.0, ours.amaxNumber().doubleValue());
        assertTrue(diff <= 1e-5 * scale, "plain DL4J vs the project's fast path: max difference " + diff
                + " at logit scale " + scale);
    }

    @Test
    void runtimeWorksWithDl4jInAnotherClassLoader() throws Exception {
        String log = runSource("SeparateLoaders.java", Path.of("target", "classes").toAbsolutePath().toString());
        assertTrue(log.contains("ok reachable=true workspace=true"), log);
        assertTrue(log.contains("impl=dev.resnext.runtime.layers.OneDnnConvolutionImpl"), log);
    }

    /** Runs a single-file Java program from src/test/resources/format/plain with DL4J's jars only. */
    private String runSource(String source, String... args) throws IOException, InterruptedException {
        Path program = FormatCompatibilityTest.resource("plain/" + source);
        List<String> cp = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String n = e.replace('\\', '/');
            if (!n.endsWith("target/classes") && !n.endsWith("target/test-classes")
                    && !n.contains("/dev/resnext/") && !e.isBlank()) {
                cp.add(e);
            }
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-cp", String.join(File.pathSeparator, cp), program.toString()));
        cmd.addAll(List.of(args));
        Path log = dir.resolve(source + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("BACKEND_PRIORITY_CPU", "200");
        pb.environment().put("BACKEND_PRIORITY_GPU", "0");
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process p = pb.start();
        if (!p.waitFor(240, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("child program did not finish: " + Files.readString(log));
        }
        String text = Files.readString(log);
        assertEquals(0, p.exitValue(), text);
        return text;
    }
}
