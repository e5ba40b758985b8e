package dev.resnext.data;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A bad data-path property is an error naming it, not a silent default. */
class DataSettingsTest {
    @Test
    void badValuesAreNamed() {
        java.util.Properties props = new java.util.Properties();
        props.setProperty("resnext.imageCacheBytes", "lots");
        dev.resnext.ResNeXtException e = assertThrows(dev.resnext.ResNeXtException.class,
                () -> dev.resnext.RuntimeSettings.from(props));
        assertTrue(e.getMessage().contains("resnext.imageCacheBytes") && e.getMessage().contains("lots"), e.getMessage());
        props.setProperty("resnext.imageCacheBytes", "1000");
        assertEquals(1000, dev.resnext.RuntimeSettings.from(props).imageCacheBytes());
        assertEquals(1L << 30, DataSettings.imageCacheBytes());
        assertEquals(256L << 20, DataSettings.npzInMemoryBytes());
    }
}
