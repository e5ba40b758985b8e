package dev.resnext.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resnext.InvalidSettingException;
import dev.resnext.ResNeXtException;
import dev.resnext.model.InputShape;
import dev.resnext.transfer.FinetuneDefaults;
import dev.resnext.transfer.FreezePolicy;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Command line of the Spark jobs ({@code scripts/resnext-spark}, or {@code spark-submit --class
 * dev.resnext.spark.SparkCli}): {@code train}, {@code finetune} and {@code predict}. Parses the
 * options into settings, runs the job, prints its JSON summary on standard output, and turns
 * every failure into one {@code error:} line (exit 2 for bad input, 1 for a failed job).
 */
public final class SparkCli {
    private static final Logger log = LoggerFactory.getLogger(SparkCli.class);

    private static final Set<String> COMMON = Set.of("master", "workers");
    private static final Set<String> TRAIN = Set.of("data", "out", "checkpoint-dir", "resume", "model", "input",
            "epochs", "batch", "averaging-frequency", "lr", "seed", "val-fraction");
    private static final Set<String> FINETUNE = Set.of("from", "freeze");
    private static final Set<String> PREDICT = Set.of("model", "data", "manifest", "image-column", "image-root",
            "out", "csv", "batch", "partitions", "skip-unreadable");
    private static final Set<String> FLAGS = Set.of("resume", "skip-unreadable", "help");

    private static final String USAGE = """
            usage: resnext-spark train    --data DIR [--out ZIP] [--model PRESET] [--input HxWxC] [--epochs N]
                                          [--batch N] [--workers N] [--averaging-frequency N] [--lr LR] [--seed N]
                                          [--val-fraction F] [--checkpoint-dir DIR] [--resume] [--master URL]
                   resnext-spark finetune --from ZIP --data DIR [--freeze none|stem|stage:N|backbone] (and train's options)
                   resnext-spark predict  --model ZIP (--data PATH | --manifest CSV --image-column NAME [--image-root DIR])
                                          --out PARQUET [--csv DIR] [--batch N] [--partitions N] [--skip-unreadable]
                                          [--master URL]""";

    private SparkCli() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        String command = args.length > 0 && !args[0].startsWith("--") ? args[0] : "train";
        String[] rest = args.length > 0 && !args[0].startsWith("--") ? java.util.Arrays.copyOfRange(args, 1, args.length)
                : args;
        Map<String, String> a;
        try {
            a = parse(command, rest);
            if (a.containsKey("help")) {
                System.out.println(USAGE);
                return 0;
            }
            Object settings = switch (command) {
                case "train", "finetune" -> trainSettings(a, command.equals("finetune"));
                case "predict" -> scoreSettings(a);
                default -> throw new IllegalArgumentException("unknown command " + command + "\n" + USAGE);
            };
            int workers = intOpt(a, "workers", 2);
            SparkConf conf = new SparkConf().setAppName("resnext-spark-" + command);
            if (a.containsKey("master")) conf.setMaster(a.get("master"));
            if (!conf.contains("spark.master")) conf.setMaster("local[" + workers + "]");
            try (JavaSparkContext sc = new JavaSparkContext(conf)) {
                Map<String, Object> summary = settings instanceof ScoreSettings s ? ScoreJob.run(sc, s)
                        : TrainJob.run(sc, (TrainSettings) settings);
                System.out.println(new ObjectMapper().writeValueAsString(summary));
            }
            return 0;
        } catch (InvalidSettingException e) {
            System.err.println("error: --" + e.getMessage());
            return 2;
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        } catch (ResNeXtException e) {
            log.debug("failed", e);
            System.err.println("error: " + e.getMessage());
            return 2;
        } catch (Exception | OutOfMemoryError e) {
            log.debug("failed", e);
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();
            System.err.println("error: " + command + " failed: " + (root.getMessage() == null
                    ? root.getClass().getSimpleName() : root.getMessage()).lines().findFirst().orElse(""));
            return 1;
        }
    }

    private static TrainSettings trainSettings(Map<String, String> a, boolean fineTune) {
        String data = required(a, "data");
        Path out = Path.of(a.getOrDefault("out", fineTune ? "models/spark-finetuned.zip" : "models/spark-model.zip"));
        Path dir = out.toAbsolutePath().getParent();
        Path ckpt = a.containsKey("checkpoint-dir") ? Path.of(a.get("checkpoint-dir")) : dir.resolve("checkpoints");
        Path from = null;
        if (fineTune) {
            from = Path.of(required(a, "from"));
            if (!Files.isRegularFile(from)) throw new IllegalArgumentException("--from: no such file " + from);
        }
        FinetuneDefaults d = FinetuneDefaults.CHOSEN;
        return new TrainSettings(data, out, ckpt, a.containsKey("resume"), a.getOrDefault("model", "small"), from,
                fineTune ? FreezePolicy.parse(a.getOrDefault("freeze", "none")) : FreezePolicy.NONE,
                a.containsKey("input") ? InputShape.parse(a.get("input")) : null,
                intOpt(a, "epochs", fineTune ? d.epochs() : 5), intOpt(a, "batch", 16), intOpt(a, "workers", 2),
                intOpt(a, "averaging-frequency", 1),
                a.containsKey("lr") ? doubleOpt(a, "lr") : null,
                a.containsKey("seed") ? (long) intOpt(a, "seed", 0) : null,
                a.containsKey("val-fraction") ? doubleOpt(a, "val-fraction") : 0.2);
    }

    private static ScoreSettings scoreSettings(Map<String, String> a) {
        Path model = Path.of(required(a, "model"));
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException("--model: no such file " + model);
        if (a.containsKey("manifest") && !a.containsKey("image-column")) {
            throw new IllegalArgumentException("--manifest needs --image-column (the column of image paths)");
        }
        return new ScoreSettings(model, a.get("data"), a.get("manifest"), a.get("image-column"), a.get("image-root"),
                required(a, "out"), a.get("csv"),
                intOpt(a, "batch", 32), intOpt(a, "partitions", 0), a.containsKey("skip-unreadable"));
    }

    private static String required(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) throw new IllegalArgumentException("--" + key + " is required\n" + USAGE);
        return v;
    }

    private static int intOpt(Map<String, String> a, String key, int def) {
        try {
            return a.containsKey(key) ? Integer.parseInt(a.get(key)) : def;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + key + " must be a whole number, was " + a.get(key));
        }
    }

    private static double doubleOpt(Map<String, String> a, String key) {
        try {
            return Double.parseDouble(a.get(key));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + key + " must be a number, was " + a.get(key));
        }
    }

    private static Map<String, String> parse(String command, String[] args) {
        Set<String> known = new java.util.HashSet<>(COMMON);
        known.add("help");
        switch (command) {
            case "train" -> known.addAll(TRAIN);
            case "finetune" -> {
                known.addAll(TRAIN);
                known.addAll(FINETUNE);
            }
            case "predict" -> known.addAll(PREDICT);
            default -> throw new IllegalArgumentException("unknown command " + command + "\n" + USAGE);
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String key = args[i].startsWith("--") ? args[i].substring(2) : null;
            if (key == null || !known.contains(key)) {
                throw new IllegalArgumentException("unknown argument " + args[i] + " for " + command + "\n" + USAGE);
            }
            if (FLAGS.contains(key)) {
                m.put(key, "true");
            } else if (i + 1 >= args.length) {
                throw new IllegalArgumentException("--" + key + " needs a value");
            } else {
                m.put(key, args[++i]);
            }
        }
        return m;
    }
}
