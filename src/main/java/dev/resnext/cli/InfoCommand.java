package dev.resnext.cli;

import dev.resnext.backend.BackendInfo;
import dev.resnext.model.ModelSummary;
import dev.resnext.model.ResNeXtConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code resnext info}: builds a network and prints its summary. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Build a network and print its summary: parameters, BN statistics, vertex counts, "
                + "shapes after the stem and each stage, and the backend.")
public final class InfoCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model = new ModelOptions();

    @Mixin
    BackendOption backend = new BackendOption();

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() {
        ResNeXtConfig config = model.resolve("small");
        BackendInfo info = backend.initialize();
        ModelSummary summary = ModelSummary.of(config);
        PrintStream out = System.out;
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", summary.model());
            m.put("input", config.inputSpec());
            m.put("classes", config.getNumClasses());
            m.put("trainableParams", summary.trainableParams());
            m.put("bnRunningStats", summary.bnRunningStats());
            m.put("splitVertices", summary.splitVertices());
            m.put("mergeVertices", summary.mergeVertices());
            m.put("vertices", summary.vertices());
            m.put("vertexKinds", summary.vertexKinds());
            m.put("stageShapes", summary.stageShapes());
            m.put("backend", info.backend());
            m.put("backendInfo", info.toMap());
            m.put("runtimeSettings", dev.resnext.RuntimeSettings.current().describe());
            m.put("config", com.fasterxml.jackson.databind.json.JsonMapper.builder().build()
                    .convertValue(config, Map.class));
            out.println(Json.write(m));
        } else {
            out.println(config);
            out.printf(Locale.ROOT, "trainable parameters   %,d%n", summary.trainableParams());
            out.printf(Locale.ROOT, "BN running statistics  %,d%n", summary.bnRunningStats());
            out.printf(Locale.ROOT, "vertices               %,d (%d split, %d merge)%n", summary.vertices(),
                    summary.splitVertices(), summary.mergeVertices());
            summary.vertexKinds().forEach((k, v) -> out.printf(Locale.ROOT, "  %-22s %,d%n", k, v));
            out.println("shapes (channels x height x width):");
            for (Map.Entry<String, List<Long>> e : summary.stageShapes().entrySet()) {
                List<Long> s = e.getValue();
                out.printf(Locale.ROOT, "  %-22s %d x %d x %d%n", e.getKey(), s.get(0), s.get(1), s.get(2));
            }
            out.println("backend: " + info.describe());
            out.println("runtime settings (system properties, docs/performance.md):");
            dev.resnext.RuntimeSettings.current().describe()
                    .forEach((k, v) -> out.printf(Locale.ROOT, "  %-32s %s%n", k, v));
        }
        return 0;
    }
}
