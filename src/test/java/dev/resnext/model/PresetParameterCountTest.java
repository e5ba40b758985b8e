package dev.resnext.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Trainable parameter counts must equal torchvision's exactly (../shared/reference/torch/params.txt). */
class PresetParameterCountTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "resnext50_32x4d, 25028904, 68224",
            "resnext101_32x8d, 88791336, 202880",
            "resnext101_64x4d, 83455272, 202880",
            "resnext29_8x64d, 34426698, 57472",
            "resnext29_16x64d, 68155210, 100480",
            "resnext29_4x16d, 3172426, 19840",
            "tiny, 566362, 6304",
    })
    void parameterCountsEqualTorchvision(String preset, long params, long bnRunning) {
        ModelSummary s = ModelSummary.of(Presets.get(preset));
        assertEquals(params, s.trainableParams(), "trainable parameters of " + preset);
        assertEquals(bnRunning, s.bnRunningStats(), "BN running statistics of " + preset);
    }

    @Test
    void resnext50HasOneSplitVertexPerGroupAndBlock() {
        ModelSummary s = ModelSummary.of(Presets.resnext50_32x4d());
        assertEquals(32 * 16, s.splitVertices());
        assertEquals(16, s.mergeVertices());
        assertEquals(512, s.vertexKinds().get("SubsetVertex"), "one channel slice per group and block");
        assertEquals(549, s.vertexKinds().get("ConvolutionLayer"), "37 plain convolutions and 512 group branches");
        assertEquals(53, s.vertexKinds().get("BatchNormalization"));
    }

    @Test
    void cifarHundredClassesChangesOnlyTheHead() {
        ResNeXtConfig c = Presets.resnext29_8x64d().toBuilder().numClasses(100).build();
        assertEquals(34_518_948, ModelSummary.of(c).trainableParams());
    }
}
