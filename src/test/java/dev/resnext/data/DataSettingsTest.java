package dev.resnext.data;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A bad data-path property is an error naming it, not a silent default. */
class DataSettingsTest {
    @Test
    void badValuesAreNamed() {
        System.setProperty("resnext.imageCacheBytes", "lots");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, DataSettings::imageCacheBytes);
            assertTrue(e.getMessage().contains("resnext.imageCacheBytes") && e.getMessage().contains("lots"));
            System.setProperty("resnext.imageCacheBytes", "1000");
            assertEquals(1000, DataSettings.imageCacheBytes());
        } finally {
            System.clearProperty("resnext.imageCacheBytes");
        }
        assertEquals(1L << 30, DataSettings.imageCacheBytes());
        assertEquals(256L << 20, DataSettings.npzInMemoryBytes());
    }
}
