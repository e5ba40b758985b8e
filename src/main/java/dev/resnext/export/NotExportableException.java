package dev.resnext.export;

import dev.resnext.ResNeXtException;

/** A model zip whose network is not a ResNeXt of this project, or uses something an export cannot express. */
public class NotExportableException extends ResNeXtException {
    public NotExportableException(String message) {
        super(message);
    }
}
