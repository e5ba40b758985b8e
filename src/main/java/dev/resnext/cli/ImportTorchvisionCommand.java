package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.backend.BackendInfo;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.io.NpyFiles;
import dev.resnext.io.StateDictMismatchException;
import dev.resnext.io.TorchvisionImporter;
import dev.resnext.model.ResNeXtConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code resnext import-torchvision}: turns a torchvision state dict ({@code .npz} from
 * {@code scripts/export-torchvision.py}) into an ordinary model zip.
 */
@Command(name = "import-torchvision", mixinStandardHelpOptions = true,
        description = {"Import PyTorch/torchvision ResNeXt weights (a state_dict saved as .npz by "
                + "scripts/export-torchvision.py) into a model zip that every other command accepts.",
                "Every tensor is checked first: a missing, unexpected or mis-shaped one is refused, "
                        + "naming its key, and no zip is written."})
public final class ImportTorchvisionCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--weights", required = true, paramLabel = "STATE.npz",
            description = "state_dict exported by scripts/export-torchvision.py (PyTorch key names).")
    Path weights;

    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = "--labels", paramLabel = "FILE",
            description = "Class names, one per line, in output order (default: 0..N-1).")
    Path labelsFile;

    @Option(names = "--out", required = true, paramLabel = "MODEL.zip", description = "Model zip to write.")
    Path out;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Mixin
    BackendOption backend = new BackendOption();

    @Override
    public Integer call() {
        if (model.source == null) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "choose the architecture with --model PRESET or --config FILE");
        }
        ResNeXtConfig config = model.resolve(null);
        List<String> labels = readLabels(config.getNumClasses());
        Outputs.checkWritable("--out", List.of(out));
        // a failed run removes what it created (a folder made for the file); the file itself is written atomically
        return Outputs.writing(List.of(out), List.of(), () -> {
            // Check names and shapes from the file's headers before ND4J loads, so that a wrong file is
            // refused in one line and quickly, even for a full-size network.
            checkHeaders(config);

            BackendInfo info = backend.initialize();
            long t0 = System.nanoTime();
            TorchvisionImporter.ImportResult result = TorchvisionImporter.importFile(weights, config);
            Map<String, Object> preprocessing = config.getInputChannels() == 3
                    ? TorchvisionImporter.TORCHVISION_PREPROCESSING : Map.of("layout", "NCHW");
            ModelMetadata metadata = ModelMetadata.create(config, labels, preprocessing, result.provenance(), Map.of());
            ModelZip.save(out, result.graph(), metadata, null, false);
            double seconds = (System.nanoTime() - t0) / 1e9;

            PrintWriter o = spec.commandLine().getOut();
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("out", out.toString());
                m.put("model", config.getName());
                m.put("input", config.inputSpec());
                m.put("classes", config.getNumClasses());
                m.put("tensors", result.tensors());
                m.put("ignoredTensors", result.ignored().size());
                m.put("values", result.graph().numParams()); // trainable parameters plus BN running statistics
                m.put("sha256", result.provenance().get("sha256"));
                m.put("seconds", Math.round(seconds * 100) / 100.0);
                m.put("backend", info.backend());
                o.println(Json.write(m));
            } else {
                o.printf(Locale.ROOT, "imported %d tensors (%,d values incl. BN running statistics) from %s into %s%s%n",
                        result.tensors(), result.graph().numParams(), weights.getFileName(), config,
                        result.ignored().isEmpty() ? "" : "; ignored " + result.ignored().size()
                                + " num_batches_tracked counters");
                o.printf(Locale.ROOT, "wrote %s (%.1f s)%n", out, seconds);
            }
            o.flush();
            return 0;
        });
    }

    private void checkHeaders(ResNeXtConfig config) {
        try {
            TorchvisionImporter.check(config, NpyFiles.readNpzHeaders(weights), weights.getFileName().toString());
        } catch (StateDictMismatchException e) {
            String hint = "";
            if (e.key().startsWith("fc.") && model.classes == null && e.getMessage().contains(" classes, ")) {
                hint = "; set the number of classes with --classes";
            } else if (e.key().equals("conv1.weight") && model.input == null
                    && e.getMessage().contains("input channels")) {
                hint = "; set the input channels with --input HxWxC";
            }
            throw new StateDictMismatchException(e.getMessage() + hint, e.key(), e.problems());
        }
    }

    private List<String> readLabels(int classes) {
        if (labelsFile == null) {
            return ModelMetadata.indexLabels(classes);
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(labelsFile, StandardCharsets.UTF_8).stream()
                    .map(String::strip).filter(s -> !s.isEmpty()).toList();
        } catch (IOException e) {
            throw new ResNeXtException("--labels: cannot read " + labelsFile + ": " + e.getMessage());
        }
        if (lines.size() != classes) {
            throw new ResNeXtException("--labels " + labelsFile + " has " + lines.size()
                    + " non-empty lines but the model has " + classes + " classes");
        }
        return lines;
    }
}
