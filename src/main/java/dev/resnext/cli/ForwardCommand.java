package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.io.NpyFiles;
import dev.resnext.runtime.GraphOutputs;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.VertexNames;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code resnext forward}: runs a model zip on an NCHW array and writes the pre-softmax logits, for
 * number-by-number comparison with PyTorch.
 */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = {"Run a model on an NCHW float array (.npy) in inference mode and write the logits "
                + "(the output of head.fc, before softmax/sigmoid: what torchvision's model(x) returns) as .npy.",
                "The array is used as given: no resizing, scaling or normaliser is applied."})
public final class ForwardCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "MODEL.zip", description = "Model zip.")
    Path modelZip;

    @Option(names = "--input", required = true, paramLabel = "INPUT.npy",
            description = "float32/float64 array [N, C, H, W] matching the model's input.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "OUT.npy",
            description = "Where to write the float32 logits [N, classes].")
    Path output;

    @Option(names = "--batch", defaultValue = "16", paramLabel = "N",
            description = "Examples per forward pass (default: ${DEFAULT-VALUE}); lower it for big inputs.")
    int batch;

    @Option(names = "--vertex", paramLabel = "NAME",
            description = "Write this vertex's activations instead of the logits, e.g. stem.pool, "
                    + "stage2.block0.out, head.pool (names: see VertexNames).")
    String vertex;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Mixin
    BackendOption backend = new BackendOption();

    @Override
    public Integer call() {
        if (batch < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--batch must be positive, was " + batch);
        }
        Outputs.checkWritable("--output", List.of(output));
        // a failed run removes what it created (a folder made for the file); the file itself is written atomically
        return Outputs.writing(List.of(output), List.of(), () -> {
            // Cheap checks first (metadata and array header, no ND4J), so that a wrong input fails in one line.
            ModelMetadata meta = ModelZip.readMetadata(modelZip);
            ResNeXtConfig config = meta.config();
            if (config == null) {
                throw new ResNeXtException(modelZip + " has no model configuration in its metadata");
            }
            NpyFiles.Header header = NpyFiles.readNpyHeader(input);
            String mismatch = GraphOutputs.inputMismatch(config, header.shape());
            if (mismatch != null) {
                throw new ResNeXtException("--input " + input.getFileName() + " has " + mismatch);
            }
            if (!header.isFloating()) {
                throw new ResNeXtException("--input " + input.getFileName() + " has type " + header.dtype()
                        + "; a float32 or float64 array is needed");
            }

            backend.initialize();
            LoadedModel loaded = ModelZip.load(modelZip);
            String name = vertex != null ? vertex : VertexNames.HEAD_FC;
            if (loaded.graph().getVertex(name) == null) {
                throw new ResNeXtException("--vertex: the model has no vertex '" + name + "'");
            }
            INDArray x = NpyFiles.readNpy(input);
            long t0 = System.nanoTime();
            INDArray result = GraphOutputs.activations(loaded.graph(), x, List.of(name), batch).get(name);
            double seconds = (System.nanoTime() - t0) / 1e9;
            NpyFiles.writeNpy(output, result);
            if (loaded.normalizer() != null) {
                // forward compares raw graphs; say so instead of silently skipping what predict would do
                System.err.println("note: the model carries an input normaliser, which forward does not apply");
            }

            PrintWriter o = spec.commandLine().getOut();
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("output", output.toString());
                m.put("vertex", name);
                m.put("inputShape", header.shape());
                m.put("outputShape", result.shape());
                if (name.equals(VertexNames.HEAD_FC)) {
                    m.put("argmax", argmax(result));
                }
                m.put("seconds", Math.round(seconds * 1000) / 1000.0);
                o.println(Json.write(m));
            } else {
                o.printf(Locale.ROOT, "wrote %s %s (%s of %d examples, %.2f s)%n", output,
                        Arrays.toString(result.shape()), name.equals(VertexNames.HEAD_FC) ? "logits" : name,
                        header.shape()[0], seconds);
            }
            o.flush();
            return 0;
        });
    }

    private static long[] argmax(INDArray logits) {
        return logits.argMax(1).toLongVector();
    }
}
