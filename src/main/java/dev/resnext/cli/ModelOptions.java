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

    static final class Source {
        @Option(names = "--model", paramLabel = "PRESET",
                description = "Preset name: resnext50_32x4d, resnext101_32x8d, resnext101_64x4d, resnext29_8x64d, "
                        + "resnext29_16x64d, resnext29_4x16d, small, tiny.")
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

    /** The configuration these options describe, or the preset {@code defaultPreset} when none is given. */
    public ResNeXtConfig resolve(String defaultPreset) {
        ResNeXtConfig config;
        if (source != null && source.configFile != null) {
            Path f = source.configFile;
            if (!Files.isRegularFile(f)) {
                throw new ResNeXtException("--config: no such file: " + f);
            }
            try {
                config = ResNeXtConfig.fromJson(Files.readString(f));
            } catch (IOException e) {
                throw new ResNeXtException("--config: cannot read " + f + ": " + e.getMessage());
            } catch (IllegalArgumentException e) {
                throw new ResNeXtException("--config " + f + ": " + e.getMessage());
            }
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
