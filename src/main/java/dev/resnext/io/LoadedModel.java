package dev.resnext.io;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;

import java.nio.file.Path;
import java.util.Map;

/**
 * A model zip read back: the network, its metadata, its normaliser (or null) and any extra entries.
 */
public record LoadedModel(Path file, ComputationGraph graph, ModelMetadata metadata, DataNormalization normalizer,
                          Map<String, byte[]> extras) {
}
