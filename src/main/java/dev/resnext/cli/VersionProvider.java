package dev.resnext.cli;

import picocli.CommandLine;

/** Reports the application and DL4J versions for {@code --version}. */
public final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        return new String[] {"resnext " + dev.resnext.Versions.application(), "DL4J " + dev.resnext.Versions.dl4j(),
                "Java " + System.getProperty("java.version")};
    }
}
