package dev.resnext.data.manifest;

import dev.resnext.ResNeXtException;

/** A label manifest that cannot be used as it is; the message names the file and, for a row, its line. */
public class ManifestException extends ResNeXtException {
    public ManifestException(String message) {
        super(message);
    }
}
