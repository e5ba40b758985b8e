package dev.resnext.data;

import dev.resnext.ResNeXtException;

import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A multi-label image set from a CSV file, as ChestX-ray14 ships its findings: a header row
 * {@code file,Finding1,Finding2,...}, then one row per image with its file name (relative to the
 * image folder) and one 0/1 column per finding.
 */
public final class LabelsCsv implements ImageSet {
    private final Path csv;
    private final List<String> findings;
    private final List<Path> files;
    private final int[][] targets;

    private LabelsCsv(Path csv, List<String> findings, List<Path> files, int[][] targets) {
        this.csv = csv;
        this.findings = List.copyOf(findings);
        this.files = List.copyOf(files);
        this.targets = targets;
    }

    /**
     * Reads {@code csv}; file names are resolved against {@code imageDir}.
     *
     * @param requiredFindings when not null, the header must name exactly these findings, in order
     */
    public static LabelsCsv read(Path csv, Path imageDir, List<String> requiredFindings) {
        if (!Files.isRegularFile(csv)) {
            throw new ResNeXtException("labels CSV not found: " + csv);
        }
        if (!Files.isDirectory(imageDir)) {
            throw new ResNeXtException("image folder not found: " + imageDir);
        }
        List<CSVRecord> rows;
        try (Reader in = Files.newBufferedReader(csv, StandardCharsets.UTF_8)) {
            rows = CSVFormat.RFC4180.builder().setIgnoreEmptyLines(true).setIgnoreSurroundingSpaces(true)
                    .build().parse(in).getRecords();
        } catch (java.nio.charset.MalformedInputException e) {
            throw new ResNeXtException(csv + " is not UTF-8 text");
        } catch (IOException | java.io.UncheckedIOException | IllegalStateException e) {
            throw new ResNeXtException("cannot read labels CSV " + csv + ": " + e.getMessage());
        }
        if (rows.size() < 2) {
            throw new ResNeXtException(csv + " has no data rows (expected a header file,Finding1,... then one row "
                    + "per image)");
        }
        CSVRecord header = rows.get(0);
        if (header.size() < 2) {
            throw new ResNeXtException(csv + " line 1: the header needs a file column and at least one finding");
        }
        List<String> findings = new ArrayList<>();
        for (int k = 1; k < header.size(); k++) {
            String name = header.get(k).trim();
            if (name.isEmpty()) {
                throw new ResNeXtException(csv + " line 1: column " + (k + 1) + " has no finding name");
            }
            // two columns of one finding would train two outputs on possibly different targets
            if (findings.contains(name)) {
                throw new ResNeXtException(csv + " line 1: the finding '" + name + "' is named twice");
            }
            findings.add(name);
        }
        if (requiredFindings != null && !requiredFindings.equals(findings)) {
            throw new ResNeXtException(csv + ": findings " + findings + " do not match the model's " + requiredFindings);
        }
        List<Path> files = new ArrayList<>();
        java.util.Map<Path, Long> lineOf = new java.util.HashMap<>();
        int[][] targets = new int[rows.size() - 1][];
        for (int r = 1; r < rows.size(); r++) {
            CSVRecord row = rows.get(r);
            long line = row.getRecordNumber();
            if (row.size() != header.size()) {
                throw new ResNeXtException(csv + " line " + line + ": " + row.size() + " columns, the header has "
                        + header.size());
            }
            String name = row.get(0).trim();
            if (name.isEmpty()) {
                throw new ResNeXtException(csv + " line " + line + ": no file name");
            }
            Path f = imageDir.resolve(name).normalize();
            if (!Files.isRegularFile(f)) {
                throw new ResNeXtException(csv + " line " + line + ": image " + f + " does not exist");
            }
            // one image twice (with the same or opposite labels) would weigh it double, or contradict itself,
            // and could land in both the training and the validation part
            Long first = lineOf.putIfAbsent(f, line);
            if (first != null) {
                throw new ResNeXtException(csv + " line " + line + ": image " + f + " is listed again (first on line "
                        + first + "); give each image once");
            }
            int[] t = new int[findings.size()];
            for (int k = 0; k < t.length; k++) {
                String v = row.get(k + 1).trim();
                if (!v.equals("0") && !v.equals("1")) {
                    throw new ResNeXtException(csv + " line " + line + ": column '" + findings.get(k)
                            + "' must be 0 or 1, was '" + v + "'");
                }
                t[k] = v.equals("1") ? 1 : 0;
            }
            files.add(f);
            targets[r - 1] = t;
        }
        return new LabelsCsv(csv, findings, files, targets);
    }

    @Override public int size() { return files.size(); }
    /** Multi-label images have no single class; splits treat them as one group. */
    @Override public int label(int i) { return 0; }
    @Override public boolean multiLabel() { return true; }
    @Override public int[] targets(int i) { return targets[i].clone(); }
    @Override public List<String> classNames() { return findings; }
    @Override public String describe(int i) { return files.get(i).toString(); }
    @Override public DecodedImage decode(int i) { return ImageDecoder.read(files.get(i)); }
    @Override public String name() { return "labels " + csv; }

    @Override
    public int[] classCounts() {
        int[] counts = new int[findings.size()];
        for (int[] t : targets) for (int k = 0; k < t.length; k++) counts[k] += t[k];
        return counts;
    }
}
