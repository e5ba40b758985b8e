package dev.resnext.data.dicom;

import dev.resnext.ResNeXtException;

/** A DICOM file that cannot be turned into an image; the message names the file and the reason. */
public class DicomException extends ResNeXtException {
    public DicomException(String message) {
        super(message);
    }
}
