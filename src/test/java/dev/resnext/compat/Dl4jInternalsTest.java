package dev.resnext.compat;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Dl4jInternals reaches into DL4J 1.0.0-M2.1's fields. When DL4J changes version this test fails
 * on purpose: re-check every access in Dl4jInternals (and the M2.1 defects the project works
 * around, ../shared/notes/dl4j-m2.1-facts.md), then update {@link Dl4jInternals#CHECKED_DL4J_VERSION}.
 */
class Dl4jInternalsTest {

    @Test
    void dl4jIsTheVersionTheInternalsWereCheckedAgainst() {
        // the version in the name of the jar that holds ComputationGraph (deeplearning4j-nn-<version>.jar)
        String jar = org.deeplearning4j.nn.graph.ComputationGraph.class.getProtectionDomain().getCodeSource()
                .getLocation().getPath();
        String name = jar.substring(jar.lastIndexOf('/') + 1);
        assertTrue(name.startsWith("deeplearning4j-nn-"), "unexpected DL4J jar " + jar);
        assertEquals("deeplearning4j-nn-" + Dl4jInternals.CHECKED_DL4J_VERSION + ".jar", name,
                "DL4J changed: re-check dev.resnext.compat.Dl4jInternals and the M2.1 workarounds");
    }

    @Test
    void everyInternalIsReachable() {
        assertTrue(Dl4jInternals.allReachable(), "a DL4J field Dl4jInternals needs has moved");
    }
}
