package dev.resnext.data.manifest;

import dev.resnext.ResNeXtException;
import dev.resnext.data.DecodedImage;
import dev.resnext.data.ImageDecoder;
import dev.resnext.data.ImageSet;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.apache.commons.csv.DuplicateHeaderMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

/**
 * Images listed in a label manifest (see {@link ManifestSpec} for the layouts: ChestX-ray14,
 * CheXpert, ISIC, plain single-label), with patient groups, official splits and uncertain-label
 * masks. This is where a manifest enters: every row is checked once, here (columns, values,
 * blank groups, duplicates, missing files) and every image decoded once, in parallel, so that a
 * bad row is reported with its line before any training starts.
 */
public final class ManifestImageSet implements ImageSet {
    private static final Logger log = LoggerFactory.getLogger(ManifestImageSet.class);

    private final Path csv;
    private final List<String> classes;
    private final boolean multi;
    private final List<Path> files;
    private final int[] labels;
    private final int[][] targets;
    private final float[][] masks;
    private final String[] groups;
    private final String[] splits;
    private final long[] lines;
    private final List<String> skipped;
    private final String name;
    private final boolean anyMask;

    private ManifestImageSet(Path csv, List<String> classes, boolean multi, List<Path> files, int[] labels,
                             int[][] targets, float[][] masks, String[] groups, String[] splits, long[] lines,
                             List<String> skipped, String name) {
        this.csv = csv;
        this.classes = List.copyOf(classes);
        this.multi = multi;
        this.files = files;
        this.labels = labels;
        this.targets = targets;
        this.masks = masks;
        this.groups = groups;
        this.splits = splits;
        this.lines = lines;
        this.skipped = List.copyOf(skipped);
        this.name = name;
        this.anyMask = Arrays.stream(masks).anyMatch(java.util.Objects::nonNull);
    }

    private static ManifestException bad(Path csv, long line, String why) {
        return new ManifestException(csv + (line > 0 ? " line " + line : "") + ": " + why);
    }

    /** Reads and checks a manifest. */
    public static ManifestImageSet read(ManifestSpec spec) {
        Path csv = spec.csv();
        if (!Files.isRegularFile(csv)) {
            throw new ManifestException("manifest not found: " + csv);
        }
        if (!Files.isDirectory(spec.imageRoot())) {
            throw new ManifestException("image folder not found: " + spec.imageRoot() + " (image paths of " + csv
                    + " are relative to it)");
        }
        int layouts = (spec.labelColumn() != null ? 1 : 0) + (spec.labelColumns() != null ? 1 : 0);
        if (layouts != 1) {
            throw new IllegalArgumentException("give either one label column or a list of label columns");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(csv)))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new ManifestException(csv + " is not UTF-8 text");
        } catch (IOException e) {
            throw new ManifestException("cannot read manifest " + csv + ": " + e.getMessage());
        }
        if (text.startsWith("\uFEFF")) text = text.substring(1); // spreadsheet exports start with a BOM
        int[] lineStarts = lineStarts(text);
        List<CSVRecord> rows;
        Map<String, Integer> header = new HashMap<>();
        List<String> headerNames;
        try (CSVParser p = CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true)
                .setIgnoreEmptyLines(true).setIgnoreSurroundingSpaces(true).setAllowMissingColumnNames(true)
                .setDuplicateHeaderMode(DuplicateHeaderMode.ALLOW_ALL).build().parse(new StringReader(text))) {
            headerNames = p.getHeaderNames();
            rows = p.getRecords();
        } catch (IOException | java.io.UncheckedIOException | IllegalStateException | IllegalArgumentException e) {
            throw new ManifestException("cannot parse manifest " + csv + ": " + e.getMessage());
        }
        Set<String> dup = new TreeSet<>();
        for (int k = 0; k < headerNames.size(); k++) {
            String h = headerNames.get(k).trim();
            if (header.putIfAbsent(h, k) != null) dup.add(h);
        }
        if (rows.isEmpty()) {
            throw bad(csv, 0, "no data rows after the header");
        }
        String imageColumn = spec.imageColumn() != null ? spec.imageColumn() : headerNames.get(0).trim();
        int imageCol = column(csv, header, headerNames, dup, imageColumn, "image");
        Integer groupCol = spec.groupColumn() == null ? null
                : column(csv, header, headerNames, dup, spec.groupColumn(), "group");
        Integer splitCol = spec.splitColumn() == null ? null
                : column(csv, header, headerNames, dup, spec.splitColumn(), "split");
        boolean multi;
        int[] labelCols;
        if (spec.labelColumn() != null) {
            labelCols = new int[] {column(csv, header, headerNames, dup, spec.labelColumn(), "label")};
            multi = spec.separator() != null;
        } else {
            if (spec.labelColumns().isEmpty()) throw new IllegalArgumentException("the list of label columns is empty");
            labelCols = new int[spec.labelColumns().size()];
            Set<String> seen = new LinkedHashSet<>();
            for (int k = 0; k < labelCols.length; k++) {
                String c = spec.labelColumns().get(k);
                if (!seen.add(c)) throw bad(csv, 0, "label column '" + c + "' is named twice");
                labelCols[k] = column(csv, header, headerNames, dup, c, "label");
            }
            multi = !spec.oneHot();
        }

        // first pass: the text of every row
        int n = rows.size();
        long[] lines = new long[n];
        Path[] paths = new Path[n];
        String[][] values = new String[n][];
        String[] groups = groupCol != null ? new String[n] : null;
        String[] splits = splitCol != null ? new String[n] : null;
        Map<Path, Long> lineOf = new HashMap<>();
        for (int r = 0; r < n; r++) {
            CSVRecord row = rows.get(r);
            long line = lineOf(lineStarts, row.getCharacterPosition());
            lines[r] = line;
            String img = get(csv, line, row, imageCol, imageColumn);
            if (img.isEmpty()) throw bad(csv, line, "no image path in column '" + imageColumn + "'");
            Path f = spec.imageRoot().resolve(img).normalize();
            Long first = lineOf.putIfAbsent(f, line);
            if (first != null) {
                throw bad(csv, line, "image " + f + " is listed again (first on line " + first + "); give each "
                        + "image once");
            }
            paths[r] = f;
            values[r] = new String[labelCols.length];
            for (int k = 0; k < labelCols.length; k++) {
                values[r][k] = get(csv, line, row, labelCols[k], headerNames.get(labelCols[k]));
            }
            if (groups != null) {
                String g = get(csv, line, row, groupCol, spec.groupColumn());
                if (g.isEmpty()) {
                    throw bad(csv, line, "the group column '" + spec.groupColumn() + "' is blank; every image needs "
                            + "its patient (group) ID, or images of one patient could end up on both sides of a split");
                }
                groups[r] = g;
            }
            if (splits != null) {
                String s = get(csv, line, row, splitCol, spec.splitColumn()).toLowerCase(Locale.ROOT);
                if (s.isEmpty()) throw bad(csv, line, "the split column '" + spec.splitColumn() + "' is blank");
                splits[r] = canonicalSplit(s);
            }
        }

        // classes and targets
        List<String> classes;
        int[] labels = new int[n];
        int[][] targets = multi ? new int[n][] : null;
        float[][] masks = new float[n][];
        if (spec.labelColumns() != null) {
            classes = new ArrayList<>(spec.labelColumns());
            if (spec.classes() != null && !spec.classes().equals(classes)) {
                throw bad(csv, 0, "label columns " + classes + " do not match the model's " + spec.classes());
            }
            long firstUncertain = -1;
            String uncertainColumn = null;
            for (int r = 0; r < n; r++) {
                int[] t = new int[classes.size()];
                float[] m = null;
                for (int k = 0; k < t.length; k++) {
                    int v = cell(csv, lines[r], classes.get(k), values[r][k]);
                    if (v == -1) {
                        if (spec.uncertain() == null) {
                            if (firstUncertain < 0) {
                                firstUncertain = lines[r];
                                uncertainColumn = classes.get(k);
                            }
                            continue;
                        }
                        switch (spec.uncertain()) {
                            case ZEROS -> v = 0;
                            case ONES -> v = 1;
                            case IGNORE -> {
                                v = 0;
                                if (m == null) {
                                    m = new float[t.length];
                                    Arrays.fill(m, 1f);
                                }
                                m[k] = 0f;
                            }
                        }
                    }
                    t[k] = v;
                }
                if (spec.oneHot()) {
                    int ones = 0;
                    for (int k = 0; k < t.length; k++) {
                        if (t[k] == 1) {
                            ones++;
                            labels[r] = k;
                        }
                    }
                    if (ones != 1) {
                        throw bad(csv, lines[r], "one-hot label columns must hold exactly one 1, found " + ones);
                    }
                } else {
                    targets[r] = t;
                    masks[r] = m;
                }
            }
            if (firstUncertain > 0) {
                throw new UncertainLabelsException(csv + " line " + firstUncertain + ": uncertain label -1 in column '"
                        + uncertainColumn + "' (first of possibly several); choose a policy for uncertain labels: "
                        + "ignore, zeros or ones");
            }
        } else if (multi) {
            Set<String> found = new TreeSet<>();
            List<List<String>> tokens = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                List<String> ts = new ArrayList<>();
                boolean none = false;
                for (String tok : values[r][0].split(java.util.regex.Pattern.quote(spec.separator()), -1)) {
                    String t = tok.trim();
                    if (t.isEmpty()) {
                        throw bad(csv, lines[r], "empty finding in '" + values[r][0] + "' (column '"
                                + spec.labelColumn() + "')");
                    }
                    if (t.equals(spec.noFinding())) {
                        none = true;
                    } else if (!ts.contains(t)) {
                        ts.add(t);
                    }
                }
                if (none && !ts.isEmpty()) {
                    throw bad(csv, lines[r], "'" + spec.noFinding() + "' together with findings " + ts);
                }
                found.addAll(ts);
                tokens.add(ts);
            }
            classes = spec.classes() != null ? new ArrayList<>(spec.classes()) : new ArrayList<>(found);
            for (int r = 0; r < n; r++) {
                int[] t = new int[classes.size()];
                for (String tok : tokens.get(r)) {
                    int k = classes.indexOf(tok);
                    if (k < 0) throw bad(csv, lines[r], "finding '" + tok + "' is not one of the model's " + classes);
                    t[k] = 1;
                }
                targets[r] = t;
            }
            if (classes.isEmpty()) throw bad(csv, 0, "no findings in column '" + spec.labelColumn() + "'");
        } else {
            Set<String> found = new TreeSet<>();
            for (int r = 0; r < n; r++) {
                if (values[r][0].isEmpty()) {
                    throw bad(csv, lines[r], "no label in column '" + spec.labelColumn() + "'");
                }
                found.add(values[r][0]);
            }
            classes = spec.classes() != null ? new ArrayList<>(spec.classes()) : new ArrayList<>(found);
            for (int r = 0; r < n; r++) {
                int k = classes.indexOf(values[r][0]);
                if (k < 0) {
                    throw bad(csv, lines[r], "label '" + values[r][0] + "' is not one of the model's classes " + classes);
                }
                labels[r] = k;
            }
        }

        // files: present and decodable, checked once here, in parallel
        List<String> skipped = new ArrayList<>();
        String[] problems = new String[n];
        AtomicInteger done = new AtomicInteger();
        long t0 = System.nanoTime();
        long[] lastLog = {t0};
        IntStream.range(0, n).parallel().forEach(r -> {
            try {
                if (!Files.isRegularFile(paths[r])) {
                    problems[r] = csv + " line " + lines[r] + ": image " + paths[r] + " does not exist";
                } else {
                    ImageDecoder.read(paths[r]);
                }
            } catch (ResNeXtException | IllegalArgumentException e) {
                problems[r] = csv + " line " + lines[r] + ": " + e.getMessage();
            }
            int d = done.incrementAndGet();
            long now = System.nanoTime();
            synchronized (lastLog) {
                if (now - lastLog[0] > 10_000_000_000L) {
                    lastLog[0] = now;
                    log.info("checked {} of {} images of {} ({} s)", d, n, csv.getFileName(), (now - t0) / 1_000_000_000L);
                }
            }
        });
        List<Integer> keep = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            if (problems[r] != null) {
                if (!spec.skipUnreadable()) throw new ManifestException(problems[r]);
                skipped.add(problems[r]);
                log.warn("skipped {}", problems[r]);
            } else {
                keep.add(r);
            }
        }
        if (keep.isEmpty()) throw bad(csv, 0, "no readable images (all " + n + " rows were skipped)");
        int m = keep.size();
        List<Path> kf = new ArrayList<>(m);
        int[] kl = new int[m];
        int[][] kt = multi ? new int[m][] : null;
        float[][] km = new float[m][];
        String[] kg = groups != null ? new String[m] : null;
        String[] ks = splits != null ? new String[m] : null;
        long[] kln = new long[m];
        for (int j = 0; j < m; j++) {
            int r = keep.get(j);
            kf.add(paths[r]);
            kl[j] = labels[r];
            if (multi) kt[j] = targets[r];
            km[j] = masks[r];
            if (kg != null) kg[j] = groups[r];
            if (ks != null) ks[j] = splits[r];
            kln[j] = lines[r];
        }
        log.info("manifest {}: {} images, {} {}{}{}", csv, m, classes.size(), multi ? "findings" : "classes",
                kg != null ? ", " + new java.util.HashSet<>(Arrays.asList(kg)).size() + " groups" : "",
                ks != null ? ", splits " + new TreeSet<>(Arrays.asList(ks)) : "");
        return new ManifestImageSet(csv, classes, multi, List.copyOf(kf), kl, kt, km, kg, ks, kln, skipped,
                "manifest " + csv);
    }

    /** train, val (also valid, validation, dev), test; anything else as written. */
    private static String canonicalSplit(String s) {
        return switch (s) {
            case "valid", "validation", "dev", "tune" -> "val";
            case "training" -> "train";
            case "testing" -> "test";
            default -> s;
        };
    }

    private static int cell(Path csv, long line, String column, String v) {
        String t = v.trim();
        switch (t) {
            case "", "0", "0.0", "0.", "-0.0" -> {
                return 0; // blank: CheXpert's "not mentioned", a negative
            }
            case "1", "1.0", "1." -> {
                return 1;
            }
            case "-1", "-1.0", "-1." -> {
                return -1;
            }
            default -> throw bad(csv, line, "column '" + column + "' must be 1, 0, -1 (uncertain) or blank, was '"
                    + v + "'");
        }
    }

    private static int column(Path csv, Map<String, Integer> header, List<String> names, Set<String> dup, String name,
                              String role) {
        Integer k = header.get(name.trim());
        if (k == null) {
            List<String> shown = names.stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
            throw new ManifestException(csv + ": no " + role + " column '" + name + "' in the header (columns: "
                    + String.join(", ", shown.size() > 30 ? shown.subList(0, 30) : shown)
                    + (shown.size() > 30 ? ", ..." : "") + ")");
        }
        if (dup.contains(name.trim())) {
            throw new ManifestException(csv + " line 1: the column '" + name + "' appears twice in the header");
        }
        return k;
    }

    private static String get(Path csv, long line, CSVRecord row, int col, String colName) {
        if (col >= row.size()) {
            throw bad(csv, line, row.size() + " fields, too few for column '" + colName + "' (field " + (col + 1)
                    + ")");
        }
        return row.get(col).trim();
    }

    private static int[] lineStarts(String text) {
        int count = 1;
        for (int i = 0; i < text.length(); i++) if (text.charAt(i) == '\n') count++;
        int[] starts = new int[count];
        int k = 1;
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) == '\n') starts[k++] = i + 1;
        }
        return starts;
    }

    /** 1-based line of a character position (of the BOM-less text). */
    private static long lineOf(int[] lineStarts, long position) {
        int i = Arrays.binarySearch(lineStarts, (int) position);
        return (i >= 0 ? i : -i - 2) + 1;
    }

    /** Split names present (train, val, test, ...), or empty without a split column. */
    @Override
    public Set<String> splitNames() {
        return splits == null ? Set.of() : new TreeSet<>(Arrays.asList(splits));
    }

    /** The rows of one official split (val also matches valid/validation), or null when it has none. */
    @Override
    public ImageSet split(String splitName) {
        if (splits == null) return null;
        String s = canonicalSplit(splitName.trim().toLowerCase(Locale.ROOT));
        int[] idx = IntStream.range(0, splits.length).filter(i -> splits[i].equals(s)).toArray();
        return idx.length == 0 ? null : subset(idx, name + " split " + s);
    }

    /** The official split of image {@code i} (train, val, test, ...), or null without a split column. */
    public String splitOf(int i) {
        return splits == null ? null : splits[i];
    }

    /** Rows skipped with the reason (with {@code skipUnreadable}). */
    public List<String> skipped() {
        return skipped;
    }

    /** Line of the manifest that image {@code i} came from. */
    public long line(int i) {
        return lines[i];
    }

    @Override public int size() { return files.size(); }
    @Override public int label(int i) { return labels[i]; }
    @Override public List<String> classNames() { return classes; }
    @Override public String describe(int i) { return files.get(i).toString(); }
    @Override public DecodedImage decode(int i) { return ImageDecoder.read(files.get(i)); }
    @Override public String name() { return name; }
    @Override public boolean multiLabel() { return multi; }
    @Override public int[] targets(int i) { return multi ? targets[i].clone() : ImageSet.super.targets(i); }
    @Override public float[] mask(int i) { return masks[i] == null ? null : masks[i].clone(); }
    @Override public String group(int i) { return groups == null ? null : groups[i]; }
    @Override public boolean hasGroups() { return groups != null; }

    @Override public boolean hasMasks() { return anyMask; }

    @Override
    public int[] classCounts() {
        if (!multi) return ImageSet.super.classCounts();
        int[] counts = new int[classes.size()];
        for (int i = 0; i < targets.length; i++) {
            for (int k = 0; k < counts.length; k++) {
                if (masks[i] == null || masks[i][k] > 0) counts[k] += targets[i][k];
            }
        }
        return counts;
    }

    /** Path of image {@code i}. */
    public Path path(int i) {
        return files.get(i);
    }
}
