package dev.resnext.spark;

import java.nio.file.Path;

/**
 * What a scoring job does.
 *
 * @param model          the model zip on the driver's file system
 * @param data           an image file or folder (searched recursively) on any file system Spark reads, or
 *                       null when a manifest lists the images
 * @param manifest       a CSV with a header whose {@code imageColumn} names the images, or null
 * @param imageColumn    the manifest's column of image paths
 * @param imageRoot      what relative manifest paths are resolved against (null: the manifest's folder)
 * @param out            the Parquet output (a folder, as Spark writes it)
 * @param csvOut         also a CSV output (a folder holding one part file with a header), or null
 * @param batch          images per forward pass on an executor
 * @param partitions     tasks the images are split into (0: 4 per executor core)
 * @param skipUnreadable drop unreadable files from the output instead of writing rows with an error
 */
record ScoreSettings(Path model, String data, String manifest, String imageColumn, String imageRoot, String out, String csvOut, int batch, int partitions,
                     boolean skipUnreadable) {
    ScoreSettings {
        if ((data == null) == (manifest == null)) {
            throw new IllegalArgumentException("give either the images (--data) or a manifest (--manifest)");
        }
        if (batch < 1) throw new dev.resnext.InvalidSettingException("batch", "must be at least 1, was " + batch);
        if (partitions < 0) {
            throw new dev.resnext.InvalidSettingException("partitions", "must be at least 0, was " + partitions);
        }
    }
}
