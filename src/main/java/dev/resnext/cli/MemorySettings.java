package dev.resnext.cli;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Checks the memory settings the launcher passes to the JVM as system properties (from
 * RESNEXT_OFFHEAP, or anything in RESNEXT_JAVA_OPTS) before JavaCPP reads them: JavaCPP fails on a
 * bad one with a long stack trace from a static initialiser, long after the command line was read.
 */
final class MemorySettings {
    /** A size as JavaCPP and the watchdog read it: digits with an optional k, m, g or t, or a percentage of RAM (JavaCPP). */
    private static final Pattern SIZE = Pattern.compile("[0-9]+[kmgt]?b?|[0-9]+(\\.[0-9]+)?%");

    private MemorySettings() {
    }

    /** The first bad setting as one line (naming where it comes from), or null when all are fine. */
    static String problem() {
        String[][] props = {
                {"org.bytedeco.javacpp.maxbytes", "RESNEXT_OFFHEAP"},
                {"org.bytedeco.javacpp.maxphysicalbytes", "RESNEXT_JAVA_OPTS"}};
        for (String[] p : props) {
            String v = System.getProperty(p[0]);
            if (v == null) continue;
            String t = v.trim().toLowerCase(Locale.ROOT);
            if (!SIZE.matcher(t).matches()) {
                return p[1] + ": -D" + p[0] + "=" + v + " is not a memory size such as 4g, 1536m or 8589934592";
            }
        }
        try {
            // every resnext.* setting (the watchdog's limit among them) is checked where it is read
            dev.resnext.RuntimeSettings.current();
        } catch (dev.resnext.ResNeXtException e) {
            return "RESNEXT_JAVA_OPTS: " + e.getMessage();
        }
        return null;
    }
}
