package dev.resnext;

/**
 * A setting (a training option, a freeze policy, class weights...) whose value cannot work. It
 * names the setting, not a command-line flag: the command line maps the setting to its own option
 * name when it reports the error, and a Java caller reads {@link #setting()} and {@link #problem()}.
 */
public class InvalidSettingException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String setting;
    private final String problem;

    /**
     * @param setting the setting's name, e.g. {@code "epochs"} (see {@code cli.SettingNames})
     * @param problem what is wrong, e.g. {@code "must be at least 1, was 0"}
     */
    public InvalidSettingException(String setting, String problem) {
        super(join(setting, problem));
        this.setting = setting;
        this.problem = problem;
    }

    /** "setting problem", or "setting: problem" when the problem starts with a colon. */
    public static String join(String name, String problem) {
        return problem.startsWith(":") ? name + problem : name + " " + problem;
    }

    public String setting() {
        return setting;
    }

    public String problem() {
        return problem;
    }
}
