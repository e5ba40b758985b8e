package dev.resnext.data;

import dev.resnext.ResNeXtException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Opens the image sets that commands accept: an image folder, or one split of an {@code .npz}. */
public final class DataSources {
    private DataSources() {
    }

    /**
     * Opens {@code path}.
     *
     * @param split           split of an .npz (train, val, test); ignored for folders
     * @param classNames      class names to use (a model's labels), or null to take them from the data
     * @param skipUnreadable  skip non-image files in folders instead of failing
     */
    public static ImageSet open(Path path, String split, List<String> classNames, boolean skipUnreadable) {
        try {
            return openChecked(path, split, classNames, skipUnreadable);
        } catch (ResNeXtException | IllegalArgumentException | OutOfMemoryError e) {
            throw e;
        } catch (RuntimeException e) {
            // the boundary where data enters: content that slipped past the checks is still the user's
            // file, and is reported as such, not as an internal error
            throw new ResNeXtException("cannot read data " + path + ": unexpected content (" + e + ")", e);
        }
    }

    private static ImageSet openChecked(Path path, String split, List<String> classNames, boolean skipUnreadable) {
        if (!Files.exists(path)) {
            throw new ResNeXtException("data not found: " + path);
        }
        if (Files.isDirectory(path)) {
            return FolderImageSet.scan(path, classNames, skipUnreadable);
        }
        if (path.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npz")) {
            return NpzImageSet.load(path, split == null ? "train" : split, classNames);
        }
        throw new ResNeXtException("unsupported data " + path + ": give a folder with one sub-folder per class, "
                + "or a MedMNIST-style .npz");
    }

    /** Whether {@code path} is an .npz file. */
    public static boolean isNpz(Path path) {
        return path.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npz");
    }
}
