package dev.resnext.eval;

import dev.resnext.ResNeXtException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChartsTest {

    @TempDir
    Path dir;

    @Test
    void trainingCurvesWithMissingValuesAndStrings() throws IOException {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int epoch = 1; epoch <= 5; epoch++) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("epoch", epoch);
            row.put("train_loss", 1.0 / epoch);
            row.put("val_loss", epoch == 3 ? Double.NaN : 1.2 / epoch);
            row.put("train_accuracy", 0.5 + 0.08 * epoch);
            row.put("val_accuracy", Double.toString(0.45 + 0.07 * epoch));
            row.put("val_auc", epoch == 1 ? null : 0.6 + 0.05 * epoch);
            row.put("lr", 0.1 * Math.pow(0.5, epoch));
            row.put("seconds", 12.5);
            rows.add(row);
        }
        Path png = dir.resolve("curves.png");
        Charts.writeTrainingCurves(png, rows);
        BufferedImage image = assertValidPng(png);
        assertTrue(image.getHeight() > image.getWidth() / 2, "stacked panels");
    }

    @Test
    void trainingCurvesWithOneEpochAndOnlyLoss() throws IOException {
        Map<String, Object> row = new HashMap<>();
        row.put("train_loss", 0.7);
        Path png = dir.resolve("one.png");
        Charts.writeTrainingCurves(png, List.of(row));
        assertValidPng(png);
        assertThrows(ResNeXtException.class, () -> Charts.writeTrainingCurves(dir.resolve("none.png"),
                List.of(Map.of("epoch", 1))));
    }

    @Test
    void confusionMatrixForTwoAndTwentyClasses() throws IOException {
        Path two = dir.resolve("cm2.png");
        Charts.writeConfusionMatrix(two, new int[][]{{40, 10}, {3, 47}}, List.of("benign", "malignant"));
        assertValidPng(two);

        int k = 20;
        int[][] cm = new int[k][k];
        List<String> names = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            names.add("class number " + i + " with a long descriptive name");
            for (int j = 0; j < k; j++) {
                cm[i][j] = i == j ? 900 + i : (i + j) % 7;
            }
        }
        cm[4] = new int[k]; // a class absent from the test set
        Path twenty = dir.resolve("cm20.png");
        Charts.writeConfusionMatrix(twenty, cm, names);
        BufferedImage image = assertValidPng(twenty);
        assertTrue(image.getWidth() >= 20 * 40, "cells stay readable");
    }

    @Test
    void confusionMatrixMustBeSquare() {
        assertThrows(ResNeXtException.class,
                () -> Charts.writeConfusionMatrix(dir.resolve("bad.png"), new int[][]{{1, 2}, {3}}, null));
        assertThrows(ResNeXtException.class,
                () -> Charts.writeConfusionMatrix(dir.resolve("bad.png"), new int[][]{{1, 2}, {3, 4}}, List.of("a")));
    }

    @Test
    void rocCurvesForBinaryMultiClassAndMultiLabel() throws IOException {
        Path binary = dir.resolve("roc-binary.png");
        Charts.writeRocCurves(binary, ClassificationMetricsTest.binaryProbabilities(),
                new int[]{0, 0, 1, 0, 1, 1, 0, 0, 1, 1}, List.of("benign", "malignant"));
        assertValidPng(binary);

        double[][] p = {{0.7, 0.2, 0.1}, {0.2, 0.5, 0.3}, {0.1, 0.3, 0.6}, {0.4, 0.4, 0.2}, {0.3, 0.3, 0.4}};
        Path multi = dir.resolve("roc-multi.png");
        Charts.writeRocCurves(multi, p, new int[]{0, 1, 2, 1, 0}, List.of("a", "b", "c"));
        assertValidPng(multi);

        Path multiLabel = dir.resolve("roc-multilabel.png");
        Charts.writeMultiLabelRocCurves(multiLabel, p, new int[][]{{1, 0, 0}, {0, 1, 1}, {0, 0, 1}, {1, 1, 0},
                {0, 0, 0}}, null);
        assertValidPng(multiLabel);
    }

    @Test
    void overwritingKeepsOneFile() throws IOException {
        Path png = dir.resolve("cm.png");
        Charts.writeConfusionMatrix(png, new int[][]{{1, 0}, {0, 1}}, null);
        Charts.writeConfusionMatrix(png, new int[][]{{5, 1}, {2, 7}}, null);
        assertValidPng(png);
    }

    /** Reads the PNG back and checks that the atomic write left no temporary file beside it. */
    private BufferedImage assertValidPng(Path png) throws IOException {
        assertTrue(Files.size(png) > 0, png + " is empty");
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image, png + " is not a readable image");
        assertTrue(image.getWidth() > 0 && image.getHeight() > 0);
        try (Stream<Path> files = Files.list(dir)) {
            List<String> leftovers = files.map(p -> p.getFileName().toString())
                    .filter(name -> name.endsWith(".tmp") || name.startsWith(".")).toList();
            assertEquals(List.of(), leftovers, "temporary files left behind");
        }
        return image;
    }
}
