package dev.resnext.data.dicom;

/**
 * A DICOM file whose pixel data is encoded with a transfer syntax this reader does not decode
 * (JPEG, JPEG-LS, JPEG 2000, RLE, video); the message names the file and the syntax.
 */
public final class UnsupportedTransferSyntaxException extends DicomException {
    private final String uid;

    public UnsupportedTransferSyntaxException(String message, String uid) {
        super(message);
        this.uid = uid;
    }

    /** The transfer syntax UID of the file. */
    public String uid() {
        return uid;
    }
}
