package dev.resnext.data;

import dev.resnext.ResNeXtException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
        List<String> lines;
        try {
            lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ResNeXtException("cannot read labels CSV " + csv + ": " + e.getMessage());
        }
        lines = lines.stream().filter(l -> !l.isBlank()).toList();
        if (lines.size() < 2) {
            throw new ResNeXtException(csv + " has no data rows (expected a header file,Finding1,... then one row "
                    + "per image)");
        }
        String[] header = split(lines.get(0));
        if (header.length < 2) {
            throw new ResNeXtException(csv + " line 1: the header needs a file column and at least one finding");
        }
        List<String> findings = Arrays.stream(header, 1, header.length).map(String::trim).toList();
        if (requiredFindings != null && !requiredFindings.equals(findings)) {
            throw new ResNeXtException(csv + ": findings " + findings + " do not match the model's " + requiredFindings);
        }
        List<Path> files = new ArrayList<>();
        int[][] targets = new int[lines.size() - 1][];
        for (int r = 1; r < lines.size(); r++) {
            String[] cells = split(lines.get(r));
            if (cells.length != header.length) {
                throw new ResNeXtException(csv + " line " + (r + 1) + ": " + cells.length + " columns, the header has "
                        + header.length);
            }
            Path f = imageDir.resolve(cells[0].trim());
            if (!Files.isRegularFile(f)) {
                throw new ResNeXtException(csv + " line " + (r + 1) + ": image " + f + " does not exist");
            }
            int[] t = new int[findings.size()];
            for (int k = 0; k < t.length; k++) {
                String v = cells[k + 1].trim();
                if (!v.equals("0") && !v.equals("1")) {
                    throw new ResNeXtException(csv + " line " + (r + 1) + ": column '" + findings.get(k)
                            + "' must be 0 or 1, was '" + v + "'");
                }
                t[k] = v.equals("1") ? 1 : 0;
            }
            files.add(f);
            targets[r - 1] = t;
        }
        return new LabelsCsv(csv, findings, files, targets);
    }

    private static String[] split(String line) {
        return line.split(",", -1);
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
