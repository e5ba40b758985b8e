package dev.resnext.format;

import dev.resnext.io.AtomicFiles;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.runtime.GraphOutputs;
import dev.resnext.runtime.GraphRuntime;

import dev.resnext.ResNeXtException;
import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ModelZipTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void cpu() {
        Backends.initialize(BackendChoice.CPU);
    }

    private static ComputationGraph trainedSmall() {
        ComputationGraph g = GraphRuntime.create(ResNeXtGraphFactory.build(Presets.small().toBuilder().input(16, 16, 3).build()));
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 3, 16, 16);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 10);
        for (int i = 0; i < 4; i++) y.putScalar(i, i, 1f);
        g.fit(new DataSet(x, y)); // non-trivial BN statistics and optimizer state
        return g;
    }

    @Test
    void roundTripIsExactAndOpensWithPlainModelSerializer() throws IOException {
        ComputationGraph g = trainedSmall();
        ResNeXtConfig c = Presets.small().toBuilder().input(16, 16, 3).build();
        ModelMetadata meta = ModelMetadata.create(c, ModelMetadata.indexLabels(10), Map.of("scale", 255),
                Map.of("source", "test"), Map.of("epochs", 1));
        Path zip = dir.resolve("m.zip");
        ModelZip.save(zip, g, meta, null, true, Map.of("state.json", "{\"epoch\":1}".getBytes()));

        LoadedModel back = ModelZip.load(zip, true);
        assertEquals(g.params(), back.graph().params());
        assertEquals(g.getUpdater().getStateViewArray(), back.graph().getUpdater().getStateViewArray());
        assertEquals(dev.resnext.model.StockForm.of(g.getConfiguration()),
                dev.resnext.model.StockForm.of(back.graph().getConfiguration()));
        assertEquals(c, back.metadata().config());
        assertEquals(List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), back.metadata().labels());
        assertEquals("{\"epoch\":1}", new String(back.extras().get("state.json")));
        INDArray x = Nd4j.rand(DataType.FLOAT, 3, 3, 16, 16);
        assertEquals(g.outputSingle(x), back.graph().outputSingle(x));

        ComputationGraph plain = ModelSerializer.restoreComputationGraph(zip.toFile());
        assertEquals(g.params(), plain.params());
        try (var files = Files.list(dir)) {
            assertEquals(List.of(zip), files.toList(), "no temporary files left behind");
        }
    }

    @Test
    void truncatedZipIsReportedAsDamaged() throws IOException {
        Path zip = dir.resolve("m.zip");
        ModelZip.save(zip, trainedSmall(), ModelMetadata.create(Presets.small(), List.of(), null, null, null),
                null, false);
        try (RandomAccessFile f = new RandomAccessFile(zip.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        ResNeXtException e = assertThrows(ResNeXtException.class, () -> ModelZip.load(zip));
        assertTrue(e.getMessage().contains(zip.toString()), e.getMessage());
    }

    @Test
    void flippedByteIsReportedAsChecksumMismatch() throws IOException {
        Path zip = dir.resolve("m.zip");
        ModelZip.save(zip, trainedSmall(), ModelMetadata.create(Presets.small(), List.of(), null, null, null),
                null, false);
        byte[] bytes = Files.readAllBytes(zip);
        // corrupt a byte in the middle of the (stored, barely compressed) coefficients
        bytes[bytes.length / 2] ^= 0x5A;
        Files.write(zip, bytes);
        ResNeXtException e = assertThrows(ResNeXtException.class, () -> ModelZip.load(zip));
        assertTrue(e.getMessage().contains("damaged") || e.getMessage().contains("not a valid"), e.getMessage());
    }

    @Test
    void notAZipAndMissingFileAreClearErrors() throws IOException {
        Path txt = dir.resolve("notes.zip");
        Files.writeString(txt, "hello");
        assertTrue(assertThrows(ResNeXtException.class, () -> ModelZip.load(txt)).getMessage()
                .contains("not a valid model zip"));
        assertTrue(assertThrows(ResNeXtException.class, () -> ModelZip.load(dir.resolve("none.zip"))).getMessage()
                .contains("not found"));
    }

    @Test
    void failedWriteKeepsThePreviousFile() throws IOException {
        Path zip = dir.resolve("m.zip");
        ComputationGraph g = trainedSmall();
        ModelMetadata meta = ModelMetadata.create(Presets.small(), List.of(), null, null, null);
        ModelZip.save(zip, g, meta, null, false);
        byte[] before = Files.readAllBytes(zip);
        assertThrows(ResNeXtException.class, () -> AtomicFiles.write(zip, out -> {
            out.write(new byte[1000]);
            throw new IOException("simulated disk full");
        }));
        assertArrayEquals(before, Files.readAllBytes(zip));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "temporary file removed");
        }
    }
}
