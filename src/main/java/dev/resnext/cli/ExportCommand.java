package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.export.OnnxExportOptions;
import dev.resnext.export.OnnxExporter;
import dev.resnext.export.TorchvisionExporter;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelZip;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code resnext export}: a model zip as an ONNX model, or as a torchvision state dict ({@code .npz},
 * the inverse of {@code import-torchvision}).
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Export a model zip as ONNX (for ONNX Runtime, Triton, TensorRT) or as a torchvision "
                + "state_dict .npz (the inverse of import-torchvision; load it in PyTorch with "
                + "scripts/npz-to-torchvision.py).",
                "ONNX: input 'input' (NCHW float32), outputs 'logits' (what forward writes) and 'probabilities' "
                        + "(softmax or sigmoid, as the model's head); labels, preprocessing, thresholds and "
                        + "provenance are ONNX metadata properties."})
public final class ExportCommand implements Callable<Integer> {

    /** Output formats. */
    public enum Format { onnx, torchvision }

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "MODEL.zip", description = "Model zip to export.")
    Path modelZip;

    @Option(names = "--format", defaultValue = "onnx", paramLabel = "FORMAT",
            description = "onnx or torchvision (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--out", required = true, paramLabel = "FILE",
            description = "File to write: MODEL.onnx, or STATE.npz for torchvision.")
    Path out;

    @Option(names = "--opset", paramLabel = "N",
            description = "ONNX opset, " + OnnxExportOptions.MIN_OPSET + " to " + OnnxExportOptions.MAX_OPSET
                    + " (default: " + OnnxExportOptions.DEFAULT_OPSET + ").")
    Integer opset;

    @Option(names = "--dynamic-batch", description = "ONNX: a named batch axis instead of batch size 1.")
    boolean dynamicBatch;

    @Option(names = "--include-preprocessing",
            description = "ONNX: standardise the input inside the graph (input = image scaled to [0, 1]).")
    boolean includePreprocessing;

    @Option(names = "--keep-branches",
            description = "ONNX: one Slice and Conv per cardinality group and a Concat, as in the zip, "
                    + "instead of one grouped Conv per block.")
    boolean keepBranches;

    @Option(names = "--keep-batchnorm",
            description = "ONNX: keep BatchNormalization nodes instead of folding them into the convolutions.")
    boolean keepBatchNorm;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Mixin
    BackendOption backend = new BackendOption();

    @Override
    public Integer call() {
        List<String> onnxOnly = new ArrayList<>();
        if (opset != null) onnxOnly.add("--opset");
        if (dynamicBatch) onnxOnly.add("--dynamic-batch");
        if (includePreprocessing) onnxOnly.add("--include-preprocessing");
        if (keepBranches) onnxOnly.add("--keep-branches");
        if (keepBatchNorm) onnxOnly.add("--keep-batchnorm");
        if (format != Format.onnx && !onnxOnly.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    String.join(", ", onnxOnly) + " only apply to --format onnx");
        }
        int op = opset == null ? OnnxExportOptions.DEFAULT_OPSET : opset;
        if (op < OnnxExportOptions.MIN_OPSET || op > OnnxExportOptions.MAX_OPSET) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--opset must be "
                    + OnnxExportOptions.MIN_OPSET + " to " + OnnxExportOptions.MAX_OPSET + ", was " + op);
        }
        Outputs.checkWritable("--out", List.of(out));
        // a failed run removes what it created (a folder made for the file); the file itself is written atomically
        return Outputs.writing(List.of(out), List.of(), () -> {
            // the metadata first (no ND4J): a file that is not a model zip is refused quickly
            ModelZip.readMetadata(modelZip);
            backend.initialize();
            LoadedModel model = ModelZip.load(modelZip);
            long t0 = System.nanoTime();
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("out", out.toString());
            report.put("format", format.name());
            String text;
            if (format == Format.onnx) {
                OnnxExporter.Result r = OnnxExporter.export(model,
                        new OnnxExportOptions(op, dynamicBatch, includePreprocessing, keepBranches, keepBatchNorm), out);
                report.put("opset", r.opset());
                report.put("bytes", r.bytes());
                report.put("input", r.inputShape());
                report.put("classes", r.classes());
                report.put("operators", r.operators());
                report.put("weights", r.weights());
                report.put("metadataKeys", r.metadata().keySet());
                int nodes = r.operators().values().stream().mapToInt(Integer::intValue).sum();
                text = String.format(Locale.ROOT, "wrote %s (ONNX opset %d, %d nodes: %s; %,d weights, %.1f MB)%n"
                                + "input '%s' %s float32%s, outputs '%s' and '%s' [%s, %d]",
                        out, r.opset(), nodes, r.operators(), r.weights(), r.bytes() / 1e6, OnnxExporter.INPUT,
                        Arrays.toString(r.inputShape()).replace("-1", OnnxExporter.BATCH_AXIS),
                        includePreprocessing ? " in [0, 1] (standardised in the graph)" : ", standardised",
                        OnnxExporter.LOGITS, OnnxExporter.PROBABILITIES,
                        dynamicBatch ? OnnxExporter.BATCH_AXIS : "1", r.classes());
            } else {
                TorchvisionExporter.Result r = TorchvisionExporter.export(model, out);
                report.put("tensors", r.tensors());
                report.put("values", r.values());
                report.put("config", r.config().getName());
                text = String.format(Locale.ROOT, "wrote %s (%d tensors, %,d values, torchvision names) for %s%n"
                                + "PyTorch: scripts/npz-to-torchvision.py --npz %s --config <metadata.json or "
                                + "configuration JSON> --out model.pt (or --arch for torchvision's presets)",
                        out, r.tensors(), r.values(), r.config(), out);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            report.put("seconds", Math.round(seconds * 100) / 100.0);
            PrintWriter o = spec.commandLine().getOut();
            if (json) {
                o.println(Json.write(report));
            } else {
                o.println(text);
            }
            o.flush();
            return 0;
        });
    }
}
