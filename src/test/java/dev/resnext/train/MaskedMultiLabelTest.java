package dev.resnext.train;

import dev.resnext.data.Batches;
import dev.resnext.data.DecodedImage;
import dev.resnext.data.ImageSet;
import dev.resnext.data.PreparedImages;
import dev.resnext.model.InputShape;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Uncertain labels under the ignore policy stay out of the loss (label mask) and of the validation metrics. */
class MaskedMultiLabelTest {
    @Test
    void maskedEntriesCountNeitherWay() {
        double[][] p = {{0.9, 0.7}, {0.1, 0.2}, {0.2, 0.6}, {0.8, 0.4}};
        int[][] t = {{1, 1}, {0, 0}, {1, 0}, {0, 0}};
        // unmasked, label 0 has AUC 0.75; with images 2 and 3 masked on label 0 it is 1.0
        float[][] masks = {null, null, {0, 1}, {0, 1}};
        MaskedMultiLabel m = MaskedMultiLabel.compute(p, t, masks);
        assertEquals(1.0, m.auc(), 1e-12);
        MaskedMultiLabel all = MaskedMultiLabel.compute(p, t, new float[4][]);
        assertEquals((0.75 + 1.0) / 2, all.auc(), 1e-12);
        // 6 known entries, 5 right at 0.5 (image 2 on label 1 is not)
        assertEquals(5 / 6.0, m.accuracy(), 1e-12);
    }

    @Test
    void batchesCarryTheLabelMask() {
        ImageSet set = new ImageSet() {
            @Override public int size() { return 3; }
            @Override public int label(int i) { return 0; }
            @Override public List<String> classNames() { return List.of("a", "b"); }
            @Override public String describe(int i) { return "#" + i; }
            @Override public DecodedImage decode(int i) { return new DecodedImage(new float[4], 2, 2, 1, 8); }
            @Override public String name() { return "masked"; }
            @Override public boolean multiLabel() { return true; }
            @Override public int[] targets(int i) { return new int[] {1, 0}; }
            @Override public float[] mask(int i) { return i == 1 ? new float[] {0, 1} : null; }
            @Override public boolean hasMasks() { return true; }
        };
        DataSet ds = Batches.inOrder(new PreparedImages(set, new InputShape(2, 2, 1)), 3, 2, null).batch(0);
        assertArrayEquals(new float[] {1, 1, 0, 1, 1, 1}, ds.getLabelsMaskArray().data().asFloat());
        ImageSet plain = set.subset(new int[] {0}, "x");
        assertNull(plain.mask(0));
    }
}
