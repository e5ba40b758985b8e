package dev.resnext;

import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.Map;

/** Software versions, recorded in model zips and printed by {@code --version}. */
public final class Versions {
    private Versions() {
    }

    /** This application's version (from the jar manifest; "dev" when run from classes). */
    public static String application() {
        String v = Versions.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }

    /** DL4J version on the classpath. */
    public static String dl4j() {
        String v = Nd4j.class.getPackage().getImplementationVersion();
        if (v != null) {
            return v;
        }
        // jars without an implementation version (1.0.0-M2, used by the Spark build) still carry Maven's
        try (java.io.InputStream in = Nd4j.class.getResourceAsStream("/META-INF/maven/org.nd4j/nd4j-api/pom.properties")) {
            if (in != null) {
                java.util.Properties p = new java.util.Properties();
                p.load(in);
                if (p.getProperty("version") != null) {
                    return p.getProperty("version");
                }
            }
        } catch (java.io.IOException e) {
            // fall through to the default
        }
        return "1.0.0-M2.1";
    }

    /** All versions as a map. */
    public static Map<String, String> all() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("resnext", application());
        m.put("dl4j", dl4j());
        m.put("java", System.getProperty("java.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        return m;
    }
}
