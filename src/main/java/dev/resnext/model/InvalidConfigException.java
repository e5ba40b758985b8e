package dev.resnext.model;

/** A model configuration value that cannot be used; the message names the field. */
public class InvalidConfigException extends IllegalArgumentException {
    private final String field;

    public InvalidConfigException(String field, String message) {
        super("invalid model configuration: " + field + " " + message);
        this.field = field;
    }

    /** Name of the offending field, as spelled in the JSON form. */
    public String getField() {
        return field;
    }
}
