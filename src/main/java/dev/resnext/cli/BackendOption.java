package dev.resnext.cli;

import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.BackendInfo;
import dev.resnext.backend.Backends;
import picocli.CommandLine.Option;

/** The {@code --backend} option shared by every command. */
public final class BackendOption {
    @Option(names = "--backend", paramLabel = "auto|cpu|cuda",
            description = "ND4J backend (default: $RESNEXT_BACKEND, else auto = CUDA when it loads, else CPU).")
    String backend;

    /** Initialises ND4J with the requested backend and returns what is in use. */
    public BackendInfo initialize() {
        BackendChoice choice = backend != null ? BackendChoice.parse(backend) : BackendChoice.fromEnvironment();
        return Backends.initialize(choice);
    }
}
