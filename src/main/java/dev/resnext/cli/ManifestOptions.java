package dev.resnext.cli;

import dev.resnext.data.manifest.ManifestImageSet;
import dev.resnext.data.manifest.ManifestSpec;
import dev.resnext.data.manifest.UncertainPolicy;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** {@code --manifest} and its column options: images and labels listed in a CSV file. */
public final class ManifestOptions {
    @Option(names = "--manifest", paramLabel = "FILE.csv",
            description = "Images and labels listed in a CSV with a header row (ChestX-ray14, CheXpert, ISIC, or "
                    + "any single-label list); replaces --data.")
    Path manifest;

    @Option(names = "--image-root", paramLabel = "DIR",
            description = "Folder that the manifest's image paths are relative to (default: the manifest's folder).")
    Path imageRoot;

    @Option(names = "--image-column", paramLabel = "NAME",
            description = "Column with the image path (default: the first column).")
    String imageColumn;

    @Option(names = "--label-column", paramLabel = "NAME",
            description = "Column with the class name (single-label), or with several findings joined by "
                    + "--labels-separator (multi-label, e.g. 'Finding Labels').")
    String labelColumn;

    @Option(names = "--labels-separator", paramLabel = "SEP",
            description = "Separator of findings in --label-column, e.g. '|' for ChestX-ray14; makes the set multi-label.")
    String separator;

    @Option(names = "--no-finding", paramLabel = "NAME", defaultValue = "No Finding",
            description = "The finding in --label-column that means none (default: '${DEFAULT-VALUE}').")
    String noFinding = "No Finding";

    @Option(names = "--label-columns", paramLabel = "A,B,..", split = ",",
            description = "One column per finding holding 1, 0, -1 (uncertain) or blank (not mentioned: 0), as "
                    + "CheXpert: multi-label; with --one-hot, one class per row (ISIC).")
    List<String> labelColumns;

    @Option(names = "--one-hot", description = "--label-columns hold exactly one 1 per row: single-label classes.")
    boolean oneHot;

    @Option(names = "--uncertain", paramLabel = "ignore|zeros|ones",
            description = "Uncertain labels (-1): ignore = masked out of the loss and the metrics, zeros = negative, "
                    + "ones = positive. Required when the manifest has any.")
    String uncertain;

    @Option(names = "--group-column", paramLabel = "NAME",
            description = "Column with the patient (group) ID: validation and folds are drawn by patient, so that "
                    + "no patient is on both sides.")
    String groupColumn;

    @Option(names = "--split-column", paramLabel = "NAME",
            description = "Column with an official split (train, val/valid/validation, test): training uses its "
                    + "train rows and validates on its val rows when there are any.")
    String splitColumn;

    /** Whether a manifest was given. */
    boolean given() {
        return manifest != null;
    }

    /** Checks the combination of options; fails on manifest options without a manifest. */
    void check() {
        if (manifest == null) {
            for (Object o : Arrays.asList(imageRoot, imageColumn, labelColumn, separator, labelColumns, uncertain,
                    groupColumn, splitColumn)) {
                if (o != null) {
                    throw new IllegalArgumentException("--image-root, --image-column, --label-column(s), "
                            + "--labels-separator, --uncertain, --group-column and --split-column need --manifest");
                }
            }
            return;
        }
        if ((labelColumn == null) == (labelColumns == null)) {
            throw new IllegalArgumentException("--manifest needs either --label-column NAME or --label-columns A,B,..");
        }
        if (separator != null && labelColumn == null) {
            throw new IllegalArgumentException("--labels-separator goes with --label-column");
        }
        if (separator != null && separator.isEmpty()) {
            throw new IllegalArgumentException("--labels-separator must not be empty");
        }
        if (oneHot && labelColumns == null) {
            throw new IllegalArgumentException("--one-hot goes with --label-columns");
        }
        if (uncertain != null) {
            policy();
        }
    }

    private UncertainPolicy policy() {
        if (uncertain == null) return null;
        try {
            return UncertainPolicy.parse(uncertain);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--uncertain " + e.getMessage());
        }
    }

    /** Reads the manifest (every row checked and every image decoded once). */
    ManifestImageSet open(List<String> classNames, boolean skipUnreadable) {
        Path root = imageRoot != null ? imageRoot
                : manifest.toAbsolutePath().getParent() != null ? manifest.toAbsolutePath().getParent() : Path.of(".");
        return ManifestImageSet.read(new ManifestSpec(manifest, root, imageColumn, labelColumn,
                labelColumns == null ? null : labelColumns.stream().map(String::trim).toList(), separator,
                separator != null ? noFinding : null, oneHot, policy(), groupColumn, splitColumn, classNames,
                skipUnreadable));
    }
}
