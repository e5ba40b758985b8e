package dev.resnext.format;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;

import java.nio.file.Path;
import java.util.Map;

/**
 * A model zip read back: the network (prepared by the runtime door), its metadata, its normaliser
 * (or null), any extra entries, and the format the file was in ({@link ModelMetadata#FORMAT_1}
 * zips are upgraded while loading and written back in the current format when saved).
 */
public record LoadedModel(Path file, ComputationGraph graph, ModelMetadata metadata, DataNormalization normalizer,
                          Map<String, byte[]> extras, String formatRead) {
}
