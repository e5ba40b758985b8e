package dev.resnext.data.manifest;

import java.nio.file.Path;
import java.util.List;

/**
 * How to read a label manifest (a CSV with a header row). Exactly one label layout is given:
 * <ul>
 * <li>{@code labelColumn} alone: single-label, the column holds the class name;</li>
 * <li>{@code labelColumn} with {@code separator}: multi-label, the column holds findings joined by the
 * separator (ChestX-ray14's {@code Finding Labels} with {@code |}); {@code noFinding} names the token that
 * means none;</li>
 * <li>{@code labelColumns}: one column per finding with 1, 0, -1 (uncertain) or blank (not mentioned, 0),
 * as CheXpert; with {@code oneHot}, exactly one 1 per row, single-label (ISIC).</li>
 * </ul>
 *
 * @param csv           the manifest
 * @param imageRoot     folder that image paths are relative to
 * @param imageColumn   column with the image path, or null for the first column
 * @param labelColumn   single-label or separated multi-label column, or null
 * @param labelColumns  one column per finding, or null
 * @param separator     separator of findings in {@code labelColumn}, or null
 * @param noFinding     the token of {@code labelColumn} that means no finding (multi-label), or null
 * @param oneHot        {@code labelColumns} are one-hot classes
 * @param uncertain     policy for -1 entries, or null to refuse them
 * @param groupColumn   column with the patient (group) ID, or null
 * @param splitColumn   column with an official split name, or null
 * @param classes       class/finding names the set must use (a model's), or null to take them from the data
 * @param skipUnreadable skip rows whose image is missing or cannot be decoded, instead of failing
 */
public record ManifestSpec(Path csv, Path imageRoot, String imageColumn, String labelColumn, List<String> labelColumns,
                           String separator, String noFinding, boolean oneHot, UncertainPolicy uncertain,
                           String groupColumn, String splitColumn, List<String> classes, boolean skipUnreadable) {
}
