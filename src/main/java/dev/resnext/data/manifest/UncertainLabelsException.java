package dev.resnext.data.manifest;

/** A manifest has uncertain labels (-1) and no policy for them was chosen. */
public final class UncertainLabelsException extends ManifestException {
    public UncertainLabelsException(String message) {
        super(message);
    }
}
