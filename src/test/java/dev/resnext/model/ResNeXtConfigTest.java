package dev.resnext.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ResNeXtConfigTest {

    @Test
    void jsonRoundTripIsExactForEveryPreset() {
        for (String name : Presets.names()) {
            ResNeXtConfig c = Presets.get(name);
            ResNeXtConfig back = ResNeXtConfig.fromJson(c.toJson());
            assertEquals(c, back, name);
            assertEquals(c.toJson(), back.toJson(), name);
        }
    }

    @Test
    void partialJsonTakesDefaults() {
        ResNeXtConfig c = ResNeXtConfig.fromJson("{\"name\":\"x\",\"cardinality\":8,\"baseWidth\":16}");
        assertEquals(8, c.getCardinality());
        assertArrayEquals(new int[] {3, 4, 6, 3}, c.getStageDepths());
    }

    @Test
    void invalidValuesNameTheField() {
        assertField("cardinality", () -> Presets.small().toBuilder().cardinality(0).build());
        assertField("stagePlanes", () -> Presets.small().toBuilder().stagePlanes(16, 32).build());
        assertField("stageDepths", () -> Presets.small().toBuilder().stageDepths(1, 0, 1).build());
        assertField("baseWidth", () -> Presets.small().toBuilder().baseWidth(1).build());
        assertField("numClasses", () -> Presets.small().toBuilder().numClasses(1).build());
        assertField("inputChannels", () -> Presets.small().toBuilder().inputChannels(0).build());
        assertField("learningRate", () -> Presets.small().toBuilder().learningRate(-1).build());
        assertField("momentum", () -> Presets.small().toBuilder().momentum(1.5).build());
    }

    @Test
    void unknownJsonFieldIsRejectedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ResNeXtConfig.fromJson("{\"cardinalty\": 8}"));
        assertTrue(e.getMessage().contains("cardinalty"), e.getMessage());
    }

    @Test
    void invalidJsonValueNamesTheField() {
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
                () -> ResNeXtConfig.fromJson("{\"cardinality\": -2}"));
        assertEquals("cardinality", e.getField());
    }

    @Test
    void unknownPresetListsTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Presets.get("resnet50"));
        assertTrue(e.getMessage().contains("resnext50_32x4d"));
    }

    @Test
    void widthFollowsTorchvisionFormula() {
        ResNeXtConfig c = Presets.resnext50_32x4d();
        assertEquals(128, c.bottleneckWidth(0));
        assertEquals(1024, c.bottleneckWidth(3));
        assertEquals(2048, c.stageOutChannels(3));
        ResNeXtConfig r29 = Presets.resnext29_8x64d();
        assertEquals(512, r29.bottleneckWidth(0));
        assertEquals(64, r29.groupWidth(0));
    }

    @Test
    void inputShapeParses() {
        assertEquals(new InputShape(28, 32, 1), InputShape.parse("28x32x1"));
        assertEquals(new InputShape(64, 64, 3), InputShape.parse("64X64"));
        assertThrows(IllegalArgumentException.class, () -> InputShape.parse("64"));
        assertThrows(IllegalArgumentException.class, () -> InputShape.parse("axbxc"));
    }

    private static void assertField(String field, org.junit.jupiter.api.function.Executable build) {
        InvalidConfigException e = assertThrows(InvalidConfigException.class, build);
        assertEquals(field, e.getField(), e.getMessage());
        assertTrue(e.getMessage().contains(field));
    }
}
