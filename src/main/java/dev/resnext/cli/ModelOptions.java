package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.model.InputShape;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Model selection: a preset or a JSON configuration file, with optional overrides. */
public final class ModelOptions {

    /** The preset names, as the one list in {@link dev.resnext.model.Presets} has them. */
    static final class PresetNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return dev.resnext.model.Presets.names().iterator();
        }
    }

    static final class Source {
        @Option(names = "--model", paramLabel = "PRESET", completionCandidates = PresetNames.class,
                description = "Preset name: ${COMPLETION-CANDIDATES}.")
        String preset;

        @Option(names = "--config", paramLabel = "FILE", description = "Model configuration JSON file.")
        Path configFile;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Source source;

    @Option(names = "--classes", paramLabel = "N", description = "Number of classes (overrides the preset).")
    Integer classes;

    @Option(names = "--input", paramLabel = "HxWxC", description = "Input height x width x channels, e.g. 224x224x3.")
    String input;

    /**
     * Reads a --config file; every way a JSON file can be wrong (not UTF-8, not an object, null,
     * wrong types, nulls inside lists, numbers out of range) ends in one message naming the file.
     */
    static ResNeXtConfig readConfig(Path f) {
        String text;
        try {
            text = Files.readString(f);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new ResNeXtException("--config " + f + " is not UTF-8 text");
        } catch (IOException e) {
            throw new ResNeXtException("--config: cannot read " + f + ": " + e.getMessage());
        }
        if (text.isBlank()) {
            throw new ResNeXtException("--config " + f + " is empty; expected a JSON object of model settings");
        }
        if (!text.strip().startsWith("{")) {
            throw new ResNeXtException("--config " + f + ": expected a JSON object ({...}) of model settings");
        }
        ResNeXtConfig config;
        try {
            config = ResNeXtConfig.fromJson(text);
        } catch (IllegalArgumentException e) {
            throw new ResNeXtException("--config " + f + ": " + firstLine(e.getMessage()));
        } catch (RuntimeException e) {
            // the boundary for this input: nothing in a user's file may surface as an internal error
            throw new ResNeXtException("--config " + f + ": invalid model configuration (" + firstLine(
                    String.valueOf(e.getMessage())) + ")", e);
        }
        if (config == null) {
            throw new ResNeXtException("--config " + f + ": expected a JSON object of model settings, found null");
        }
        return config;
    }

    private static String firstLine(String m) {
        if (m == null) return "no details";
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl).trim();
    }

    /** The configuration these options describe, or the preset {@code defaultPreset} when none is given. */
    public ResNeXtConfig resolve(String defaultPreset) {
        ResNeXtConfig config;
        if (source != null && source.configFile != null) {
            Path f = source.configFile;
            if (!Files.isRegularFile(f)) {
                throw new ResNeXtException("--config: no such file: " + f);
            }
            config = readConfig(f);
        } else {
            config = Presets.get(source != null && source.preset != null ? source.preset : defaultPreset);
        }
        ResNeXtConfig.Builder b = config.toBuilder();
        if (classes != null) {
            b.numClasses(classes);
        }
        if (input != null) {
            InputShape shape = InputShape.parse(input);
            b.input(shape.height(), shape.width(), shape.channels());
        }
        return b.build();
    }
}
