package dev.resnext.spark;

import dev.resnext.ResNeXtException;
import dev.resnext.api.Prediction;
import dev.resnext.api.ResNeXtClassifier;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.SerializableWritable;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Batch scoring of image archives on Spark: one row per image with the decision of
 * {@code resnext predict} (same preparation, normaliser, calibration temperature and operating
 * point, through {@link ResNeXtClassifier}), the probabilities, and the model's identity. The zip
 * is broadcast once and loaded once per executor ({@link ExecutorModel}). A file that cannot be
 * read becomes a row with an error (or is dropped), never a failed job. Output is written through
 * Spark's commit protocol to a temporary folder that is renamed at the end, so tasks re-run after a
 * lost executor never duplicate rows and a failed job leaves no partial output.
 */
final class ScoreJob {
    private static final Logger log = LoggerFactory.getLogger(ScoreJob.class);

    static final StructType SCHEMA = new StructType()
            .add("file", DataTypes.StringType, false)
            .add("label", DataTypes.StringType, true)
            .add("probability", DataTypes.DoubleType, true)
            .add("findings", DataTypes.StringType, true)
            .add("probabilities", DataTypes.createArrayType(DataTypes.DoubleType, false), true)
            .add("model_name", DataTypes.StringType, false)
            .add("model_sha256", DataTypes.StringType, false)
            .add("error", DataTypes.StringType, true);

    private ScoreJob() {
    }

    /** Runs the job; returns its summary (counts, rate, model identity, decision). */
    static Map<String, Object> run(JavaSparkContext sc, ScoreSettings s) {
        byte[] zip;
        try {
            zip = Files.readAllBytes(s.model());
        } catch (IOException e) {
            throw new ResNeXtException("cannot read model " + s.model() + ": " + e.getMessage(), e);
        }
        String sha = sha256(zip);
        // open it on the driver too: a bad zip is one error here instead of failed tasks
        ModelMetadata md = ModelZip.readMetadata(s.model());
        ResNeXtClassifier driverView = ExecutorModel.get(sha, zip);
        Configuration hconf = sc.hadoopConfiguration();
        SparkSession spark = SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
        List<String> files = s.manifest() != null ? manifestImages(spark, s, hconf)
                : SparkFiles.listImages(s.data(), hconf);
        int parts = s.partitions() > 0 ? s.partitions() : Math.max(1, sc.defaultParallelism() * 4);
        parts = Math.min(parts, files.size());
        log.info("scoring {} images from {} in {} partitions with {} (sha256 {}), batch {}", files.size(), s.data() != null ? s.data() : s.manifest(),
                parts, md.config().getName(), sha.substring(0, 12), s.batch());

        Broadcast<byte[]> model = sc.broadcast(zip);
        Broadcast<SerializableWritable<Configuration>> conf = sc.broadcast(new SerializableWritable<>(hconf));
        LongAccumulator unreadable = sc.sc().longAccumulator("unreadable");
        LongAccumulator busyNanos = sc.sc().longAccumulator("scoring nanoseconds");
        JavaRDD<Row> rows = sc.parallelize(files, parts)
                .mapPartitions(new ScorePartition(model, conf, sha, md.config().getName(), s.batch(),
                        s.skipUnreadable(), unreadable, busyNanos));
        Dataset<Row> df = spark.createDataFrame(rows, SCHEMA);
        if (s.csvOut() != null) {
            df = df.persist(StorageLevel.MEMORY_AND_DISK()); // scored once, written twice
        }
        long t0 = System.nanoTime();
        try (Progress p = new Progress(sc, "scoring")) {
            writeAtomically(df, s.out(), "parquet", hconf);
            if (s.csvOut() != null) {
                Dataset<Row> flat = df.withColumn("probabilities", functions.concat_ws(";",
                        functions.col("probabilities").cast("array<string>")));
                writeAtomically(flat.coalesce(1), s.csvOut(), "csv", hconf);
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        df.unpersist();
        // read the written output back: the counts a caller can check (every image exactly once)
        Dataset<Row> written = spark.read().parquet(s.out());
        long n = written.count();
        long distinct = written.select("file").distinct().count();
        long errors = written.filter(functions.col("error").isNotNull()).count();
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("model", s.model().toString());
        summary.put("model_name", md.config().getName());
        summary.put("model_sha256", sha);
        summary.put("labels", driverView.labels());
        summary.put("decision", driverView.thresholds() == null ? "arg-max"
                : "thresholds " + java.util.Arrays.toString(driverView.thresholds()) + " " + driverView.thresholdSource());
        summary.put("calibrated", driverView.calibrated());
        summary.put("images", files.size());
        summary.put("rows", n);
        summary.put("distinct_files", distinct);
        summary.put("error_rows", errors);
        summary.put("skipped_unreadable", s.skipUnreadable() ? files.size() - n : 0);
        summary.put("partitions", parts);
        summary.put("executors", sc.sc().getExecutorMemoryStatus().size() - (sc.master().startsWith("local") ? 0 : 1));
        summary.put("seconds", secs);
        summary.put("images_per_second", files.size() / secs);
        // per executor core, from the tasks' own time (reading, decoding, forward passes; no start-up):
        // what one more core adds on a cluster (re-run tasks count twice, so it reads low after a loss)
        double busy = busyNanos.value() / 1e9;
        summary.put("images_per_second_per_core", busy > 0 ? files.size() / busy : Double.NaN);
        summary.put("out", s.out());
        if (s.csvOut() != null) summary.put("csv", s.csvOut());
        log.info(String.format(Locale.ROOT, "scored %d images in %.1f s (%.1f img/s): %d rows, %d with errors -> %s",
                files.size(), secs, files.size() / secs, n, errors, s.out()));
        return summary;
    }

    /**
     * The images a manifest lists (a CSV with a header, read by Spark, so on any file system),
     * relative paths resolved against the image root, qualified, in the manifest's order. A listed
     * file that does not exist becomes an error row like any unreadable file.
     */
    private static List<String> manifestImages(SparkSession spark, ScoreSettings s, Configuration conf) {
        org.apache.hadoop.fs.Path csv = new org.apache.hadoop.fs.Path(SparkFiles.qualify(s.manifest(), conf));
        Dataset<Row> m;
        try {
            m = spark.read().option("header", true).csv(csv.toString());
        } catch (RuntimeException e) {
            throw new ResNeXtException("cannot read manifest " + s.manifest() + ": " + e.getMessage(), e);
        }
        if (!java.util.Arrays.asList(m.columns()).contains(s.imageColumn())) {
            throw new dev.resnext.InvalidSettingException("image-column", ": the manifest " + s.manifest()
                    + " has no column '" + s.imageColumn() + "' (columns: " + String.join(", ", m.columns()) + ")");
        }
        String root = SparkFiles.qualify(s.imageRoot() != null ? s.imageRoot() : csv.getParent().toString(), conf);
        List<String> files = new ArrayList<>();
        for (Row r : m.select(s.imageColumn()).collectAsList()) {
            String v = r.getString(0);
            if (v == null || v.isBlank()) continue;
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(v.trim());
            files.add(p.isAbsoluteAndSchemeAuthorityNull() || p.toUri().getScheme() != null
                    ? SparkFiles.qualify(v.trim(), conf) : new org.apache.hadoop.fs.Path(root, v.trim()).toString());
        }
        if (files.isEmpty()) throw new ResNeXtException("the manifest " + s.manifest() + " lists no images");
        return files;
    }

    /** Writes through a temporary sibling folder renamed at the end: readers never see a partial output. */
    private static void writeAtomically(Dataset<Row> df, String out, String format, Configuration conf) {
        try {
            org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(out);
            FileSystem fs = target.getFileSystem(conf);
            if (fs.exists(target)) {
                throw new dev.resnext.InvalidSettingException("out", ": " + out + " exists; remove it or choose another");
            }
            org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path(target.getParent(),
                    "." + target.getName() + ".inprogress");
            fs.delete(tmp, true);
            var w = df.write().mode(SaveMode.ErrorIfExists);
            if (format.equals("csv")) {
                w.option("header", true).csv(tmp.toString());
            } else {
                w.parquet(tmp.toString());
            }
            if (!fs.rename(tmp, target)) {
                throw new ResNeXtException("cannot rename " + tmp + " to " + out);
            }
        } catch (IOException e) {
            throw new ResNeXtException("cannot write " + out + ": " + e.getMessage(), e);
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Scores one partition of file names in batches on an executor. */
    static final class ScorePartition implements FlatMapFunction<Iterator<String>, Row> {
        private static final long serialVersionUID = 1L;
        private final Broadcast<byte[]> model;
        private final Broadcast<SerializableWritable<Configuration>> conf;
        private final String sha;
        private final String name;
        private final int batch;
        private final boolean skipUnreadable;
        private final LongAccumulator unreadable;
        private final LongAccumulator busyNanos;

        ScorePartition(Broadcast<byte[]> model, Broadcast<SerializableWritable<Configuration>> conf, String sha,
                       String name, int batch, boolean skipUnreadable, LongAccumulator unreadable,
                       LongAccumulator busyNanos) {
            this.model = model;
            this.conf = conf;
            this.sha = sha;
            this.name = name;
            this.batch = batch;
            this.skipUnreadable = skipUnreadable;
            this.unreadable = unreadable;
            this.busyNanos = busyNanos;
        }

        @Override
        public Iterator<Row> call(Iterator<String> files) {
            ResNeXtClassifier clf = ExecutorModel.get(sha, model.value());
            long t0 = System.nanoTime(); // after the (once per executor) model load
            Configuration hconf = conf.value().value();
            boolean multiLabel = clf.metadata().config().isMultiLabel();
            List<Row> out = new ArrayList<>();
            List<String> names = new ArrayList<>();
            List<float[]> prepared = new ArrayList<>();
            int n = 0;
            while (files.hasNext()) {
                String f = files.next();
                n++;
                try {
                    prepared.add(clf.prepare(SparkFiles.decode(f, hconf)));
                    names.add(f);
                } catch (RuntimeException e) {
                    // one bad file must not fail the task: Spark would retry it and then fail the job
                    unreadable.add(1);
                    log.warn("unreadable: {}", e.getMessage());
                    if (!skipUnreadable) {
                        out.add(RowFactory.create(f, null, null, null, null, name, sha, oneLine(e)));
                    }
                }
                if (prepared.size() == batch || (!files.hasNext() && !prepared.isEmpty())) {
                    List<Prediction> preds = clf.classifyPrepared(prepared);
                    for (int i = 0; i < preds.size(); i++) {
                        Prediction p = preds.get(i);
                        String findings = multiLabel ? String.join(";", p.findings().stream()
                                .map(Prediction.Scored::label).toList()) : null;
                        out.add(RowFactory.create(names.get(i), p.label(), p.probability(), findings,
                                boxed(p.probabilities()), name, sha, null));
                    }
                    prepared.clear();
                    names.clear();
                }
            }
            long took = System.nanoTime() - t0;
            busyNanos.add(took);
            log.info(String.format(Locale.ROOT, "scored partition of %d images in %.1f s", n, took / 1e9));
            return out.iterator();
        }

        private static String oneLine(Throwable e) {
            String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            return m.replace('\n', ' ');
        }

        private static Double[] boxed(double[] v) {
            Double[] b = new Double[v.length];
            for (int i = 0; i < v.length; i++) b[i] = v[i];
            return b;
        }
    }
}
