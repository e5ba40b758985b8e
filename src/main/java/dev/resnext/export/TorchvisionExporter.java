package dev.resnext.export;

import dev.resnext.format.LoadedModel;
import dev.resnext.io.NpyFiles;
import dev.resnext.io.TorchvisionImporter;
import dev.resnext.model.ResNeXtConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The inverse of {@link TorchvisionImporter}: every parameter and BN running statistic of a model
 * zip under its torchvision state-dict name ({@code conv1.weight}, {@code layer2.0.conv2.weight},
 * {@code fc.bias}, ...), in torchvision's layouts (a block's branch weights stacked into one grouped
 * weight, the classifier's weight transposed to [out, in]), as float32. Follows
 * {@link TorchvisionImporter#mappings} key by key, so importing the result gives the same
 * parameters bit for bit. The {@code num_batches_tracked} counters are not written: DL4J keeps
 * none, and PyTorch fills them in when they are absent.
 */
public final class TorchvisionExporter {

    private TorchvisionExporter() {
    }

    /**
     * What was written.
     *
     * @param file    the {@code .npz}
     * @param config  the configuration the tensors fit (give it to the importer or the reverse script)
     * @param tensors number of tensors
     * @param values  number of values
     */
    public record Result(Path file, ResNeXtConfig config, int tensors, long values) {
    }

    /** The configuration the state dict fits: the zip's, with the classifier's actual number of outputs. */
    public static ResNeXtConfig configuration(LoadedModel model) {
        ExportSource src = ExportSource.of(model);
        return configuration(src);
    }

    private static ResNeXtConfig configuration(ExportSource src) {
        int classes = src.classes();
        return classes == src.config.getNumClasses() ? src.config
                : src.config.toBuilder().numClasses(classes).build();
    }

    /** The state dict of a loaded zip, in torchvision's key order. */
    public static Map<String, INDArray> stateDict(LoadedModel model) {
        return stateDict(ExportSource.of(model));
    }

    private static Map<String, INDArray> stateDict(ExportSource src) {
        ResNeXtConfig config = configuration(src);
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (TorchvisionImporter.Mapping m : TorchvisionImporter.mappings(config)) {
            INDArray value = switch (m.kind()) {
                case COPY -> src.param(m.vertex(), m.param()).castTo(DataType.FLOAT).reshape(m.shape());
                case TRANSPOSE -> src.param(m.vertex(), m.param()).castTo(DataType.FLOAT).transpose();
                case GROUPED -> {
                    List<INDArray> parts = new ArrayList<>();
                    for (String conv : m.vertices()) {
                        parts.add(src.param(conv, m.param()).castTo(DataType.FLOAT));
                    }
                    yield parts.size() == 1 ? parts.get(0) : Nd4j.concat(0, parts.toArray(INDArray[]::new));
                }
            };
            if (!Arrays.equals(value.shape(), m.shape())) {
                throw new NotExportableException(src.fileName() + ": parameter for '" + m.key() + "' has shape "
                        + Arrays.toString(value.shape()) + ", torchvision's is " + Arrays.toString(m.shape()));
            }
            out.put(m.key(), value.dup('c'));
        }
        return out;
    }

    /** Writes the state dict of a loaded zip as an uncompressed {@code .npz}, atomically. */
    public static Result export(LoadedModel model, Path out) {
        ExportSource src = ExportSource.of(model);
        Map<String, INDArray> sd = stateDict(src);
        NpyFiles.writeNpz(out, sd);
        long values = sd.values().stream().mapToLong(INDArray::length).sum();
        return new Result(out, configuration(src), sd.size(), values);
    }
}
