package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.data.DecodedImage;
import dev.resnext.data.ImageDecoder;
import dev.resnext.data.ImageOps;
import dev.resnext.explain.GradCam;
import dev.resnext.explain.HeatmapOverlay;
import dev.resnext.format.LoadedModel;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code resnext explain}: Grad-CAM heat-map overlays for image files. */
@Command(name = "explain", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Grad-CAM heat maps: for each image, which regions of the last stage's activations speak for "
                + "the predicted class (or --class), drawn over the original image as DIR/<name>.gradcam.png.",
                "For this head (average pooling, linear classifier) the Grad-CAM weights are exactly the "
                        + "classifier's weights divided by the map area, so no back-propagation is needed."})
public final class ExplainCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ExplainCommand.class);

    @Option(names = "--model", required = true, paramLabel = "MODEL.zip", description = "Model zip.")
    Path model;

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "Image files.")
    List<Path> files;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the overlay PNGs.")
    Path out;

    @Option(names = "--class", paramLabel = "NAME|INDEX",
            description = "Class to explain, by name or index (default: each image's predicted class).")
    String targetClass;

    @Option(names = "--alpha", paramLabel = "A", defaultValue = "0.5",
            description = "Weight of the heat map over the image, 0..1 (default: ${DEFAULT-VALUE}).")
    double alpha = HeatmapOverlay.DEFAULT_ALPHA;

    @Option(names = "--json", description = "Print one JSON object instead of CSV lines.")
    boolean json;

    @Mixin
    BackendOption backend = new BackendOption();

    @Mixin
    ImageLimitOption imageLimit = new ImageLimitOption();

    @Override
    public Integer call() {
        imageLimit.apply();
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("--alpha must be between 0 and 1, was " + alpha);
        }
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new ResNeXtException("--out " + out + " is a file, not a folder");
        }
        List<Path> outputs = outputPaths(files, out);
        Outputs.checkWritable("--out", outputs);
        // a failed or interrupted run removes the overlays it wrote (earlier versions of them stay)
        return Outputs.writing(outputs, List.of(), () -> explain(outputs));
    }

    private int explain(List<Path> outputs) {
        backend.initialize();
        LoadedModel m = ModelZip.load(model);
        List<String> labels = m.metadata().labels().isEmpty()
                ? ModelMetadata.indexLabels(m.metadata().config().getNumClasses()) : m.metadata().labels();
        int classIndex = targetClass == null ? -1 : resolveClass(targetClass, labels);
        GradCam cam = GradCam.of(m);

        // first every image is decoded and explained, so that a bad file stops the command before any output
        long start = System.nanoTime();
        List<GradCam.Result> results = new ArrayList<>();
        for (Path f : files) {
            results.add(cam.explain(ImageOps.toInput(ImageDecoder.read(f), cam.inputShape()), classIndex));
        }
        for (int i = 0; i < files.size(); i++) {
            DecodedImage img = ImageDecoder.read(files.get(i));
            HeatmapOverlay.writePng(outputs.get(i), HeatmapOverlay.render(img, results.get(i).map(), alpha));
        }
        log.info(String.format(Locale.ROOT, "explained %d images in %.1f s (Grad-CAM on %s)", files.size(),
                (System.nanoTime() - start) / 1e9, cam.layer()));

        PrintStream stdout = System.out;
        if (json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int i = 0; i < files.size(); i++) {
                GradCam.Result r = results.get(i);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("file", files.get(i).toString());
                row.put("class", labels.get(r.classIndex()));
                row.put("classIndex", r.classIndex());
                double[] probabilities = calibrated(m, r.probabilities());
                row.put("probability", probabilities[r.classIndex()]);
                row.put("predicted", labels.get(r.predictedClass()));
                row.put("predictedProbability", probabilities[r.predictedClass()]);
                row.put("mapSize", List.of(r.height(), r.width()));
                row.put("output", outputs.get(i).toString());
                rows.add(row);
            }
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("model", model.toString());
            result.put("layer", cam.layer());
            result.put("alpha", alpha);
            result.put("calibrated", m.metadata().temperatures() != null);
            result.put("heatmaps", rows);
            stdout.println(Json.write(result));
        } else {
            var csv = PredictCommand.printCsv(stdout);
            PredictCommand.printRow(csv, List.of("file", "class", "probability", "output"));
            for (int i = 0; i < files.size(); i++) {
                GradCam.Result r = results.get(i);
                PredictCommand.printRow(csv, List.of(files.get(i).toString(), labels.get(r.classIndex()),
                        String.format(Locale.ROOT, "%.6f", calibrated(m, r.probabilities())[r.classIndex()]),
                        outputs.get(i).toString()));
            }
        }
        return 0;
    }

    /** Class by exact name first, else by index. */
    static int resolveClass(String spec, List<String> labels) {
        int byName = labels.indexOf(spec);
        if (byName >= 0) {
            return byName;
        }
        int index;
        try {
            index = Integer.parseInt(spec.trim());
        } catch (NumberFormatException e) {
            throw new ResNeXtException("unknown class '" + spec + "'; the model's classes are "
                    + String.join(", ", labels));
        }
        if (index < 0 || index >= labels.size()) {
            throw new ResNeXtException("class index " + index + " is out of range: the model has " + labels.size()
                    + " classes (0.." + (labels.size() - 1) + ": " + String.join(", ", labels) + ")");
        }
        return index;
    }

    /** {@code DIR/<name without extension>.gradcam.png} per input; checks the inputs and refuses name clashes. */
    static List<Path> outputPaths(List<Path> inputs, Path dir) {
        List<Path> result = new ArrayList<>();
        Map<Path, Path> seen = new HashMap<>();
        for (Path f : inputs) {
            if (Files.isDirectory(f)) {
                throw new ResNeXtException(f + " is a folder; explain takes image files");
            }
            if (!Files.isRegularFile(f)) {
                throw new ResNeXtException("no such file: " + f);
            }
            String name = f.getFileName().toString();
            int dot = name.lastIndexOf('.');
            String base = dot > 0 ? name.substring(0, dot) : name;
            Path target = dir.resolve(base + ".gradcam.png");
            Path other = seen.put(target, f);
            if (other != null) {
                throw new ResNeXtException(other + " and " + f + " would both be written to " + target
                        + "; explain them in separate runs with different --out folders");
            }
            result.add(target);
        }
        return result;
    }


    /** The probabilities with the model's stored temperature scaling applied (the arg-max does not change). */
    private static double[] calibrated(LoadedModel m, double[] probabilities) {
        return dev.resnext.eval.TemperatureScaling.apply(probabilities, m.metadata().temperatures(),
                m.metadata().config().isMultiLabel());
    }
}
