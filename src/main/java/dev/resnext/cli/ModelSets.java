package dev.resnext.cli;

import dev.resnext.ResNeXtException;
import dev.resnext.data.Batches;
import dev.resnext.data.DataSources;
import dev.resnext.data.ImageSet;
import dev.resnext.data.LabelsCsv;
import dev.resnext.data.PreparedImages;
import dev.resnext.eval.ModelScoring;
import dev.resnext.eval.Scorer;
import dev.resnext.eval.TestTimeAugmentation;
import dev.resnext.format.LoadedModel;
import dev.resnext.model.InputShape;
import dev.resnext.model.ResNeXtConfig;

import java.nio.file.Path;

/** Opening labelled data for a model and scoring it the way every command does. */
final class ModelSets {
    private ModelSets() {
    }

    /** Labelled images for {@code m}: a labels CSV for multi-label models, else a folder or an .npz split. */
    static ImageSet open(LoadedModel m, Path data, String split, Path labelsCsv, boolean skipUnreadable) {
        ResNeXtConfig c = m.metadata().config();
        if (c.isMultiLabel()) {
            if (labelsCsv == null) {
                throw new IllegalArgumentException("this is a multi-label model: give the labels with --labels-csv FILE");
            }
            return LabelsCsv.read(labelsCsv, data, m.metadata().labels());
        }
        if (labelsCsv != null) {
            throw new IllegalArgumentException("--labels-csv is for multi-label models; this model is single-label");
        }
        return DataSources.open(data, split, m.metadata().labels(), skipUnreadable);
    }

    /** The model's scorer: its stored calibration (unless {@code raw}) and the given test-time views. */
    static Scorer scorer(LoadedModel m, boolean raw, TestTimeAugmentation tta) {
        return new Scorer(m.graph(), raw ? null : m.metadata().temperatures(), m.metadata().config().isMultiLabel(),
                tta);
    }

    /** Scores every image of {@code set} in order. */
    static ModelScoring.Scores score(LoadedModel m, ImageSet set, int batch, Scorer scorer) {
        ResNeXtConfig c = m.metadata().config();
        return ModelScoring.predict(scorer, Batches.inOrder(new PreparedImages(set,
                new InputShape(c.getInputHeight(), c.getInputWidth(), c.getInputChannels())), batch,
                c.getNumClasses(), m.normalizer()));
    }

    /** Parses {@code --tta}, as a command-line error when it is not understood. */
    static TestTimeAugmentation tta(String spec) {
        try {
            return TestTimeAugmentation.parse(spec);
        } catch (ResNeXtException e) {
            throw new IllegalArgumentException("--tta: " + e.getMessage());
        }
    }
}
