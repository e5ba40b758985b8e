package dev.resnext.data;

import dev.resnext.ResNeXtException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Images in a folder with one sub-folder per class ({@code root/<class>/<image>}), as torchvision's
 * {@code ImageFolder}. Classes are the sub-folder names in sorted order; images within a class are
 * found recursively and sorted, so that indices are stable between runs.
 */
public final class FolderImageSet implements ImageSet {
    private static final Logger log = LoggerFactory.getLogger(FolderImageSet.class);

    private final Path root;
    private final List<String> classes;
    private final List<Path> files;
    private final int[] labels;
    private final List<String> skipped;

    private FolderImageSet(Path root, List<String> classes, List<Path> files, int[] labels, List<String> skipped) {
        this.root = root;
        this.classes = List.copyOf(classes);
        this.files = List.copyOf(files);
        this.labels = labels;
        this.skipped = List.copyOf(skipped);
    }

    /**
     * Scans {@code root} and decodes every image once. Files without an image extension, and images
     * that cannot be decoded (damaged, truncated), are refused with one line naming the first, unless
     * {@code skipUnreadable}, which skips them, logs each and lists them in {@link #skipped()}.
     *
     * @param requiredClasses when not null, the class names the set must use (e.g. a model's labels):
     *                        folders must be a subset of them
     */
    public static FolderImageSet scan(Path root, List<String> requiredClasses, boolean skipUnreadable) {
        if (!Files.exists(root)) {
            throw new ResNeXtException("data folder not found: " + root);
        }
        if (!Files.isDirectory(root)) {
            throw new ResNeXtException("not a folder: " + root + " (expected one sub-folder per class, or an .npz)");
        }
        List<Path> classDirs;
        try (Stream<Path> s = Files.list(root)) {
            classDirs = s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted().toList();
        } catch (IOException e) {
            throw new ResNeXtException("cannot list " + root + ": " + e.getMessage());
        }
        if (classDirs.isEmpty()) {
            throw new ResNeXtException("no class folders in " + root + " (expected " + root + "/<class>/<image>)");
        }
        List<String> classes = new ArrayList<>();
        for (Path d : classDirs) {
            classes.add(d.getFileName().toString());
        }
        List<String> labelSpace = classes;
        if (requiredClasses != null) {
            for (String c : classes) {
                if (!requiredClasses.contains(c)) {
                    throw new ResNeXtException("class folder '" + c + "' in " + root
                            + " is not one of the model's classes " + requiredClasses);
                }
            }
            labelSpace = requiredClasses;
        }
        List<Path> candidates = new ArrayList<>();
        List<Integer> candidateLabels = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (Path d : classDirs) {
            int label = labelSpace.indexOf(d.getFileName().toString());
            List<Path> inClass;
            try (Stream<Path> s = Files.walk(d)) {
                inClass = s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("."))
                        .sorted().toList();
            } catch (IOException e) {
                throw new ResNeXtException("cannot list " + d + ": " + e.getMessage());
            }
            int kept = 0;
            for (Path f : inClass) {
                if (!ImageDecoder.looksLikeImage(f)) {
                    if (!skipUnreadable) {
                        throw new ResNeXtException("not an image file: " + f
                                + " (remove it, or skip unreadable files)");
                    }
                    skipped.add(f + " (not an image file)");
                    continue;
                }
                candidates.add(f);
                candidateLabels.add(label);
                kept++;
            }
            if (kept == 0) {
                throw new ResNeXtException("class folder " + d + " has no images");
            }
        }
        // Decode every image once now, so that a damaged file is reported before training starts
        // (not hours later, in the batch-loading thread), and --skip-unreadable can drop it.
        long t0 = System.nanoTime();
        String[] problems = new String[candidates.size()];
        RuntimeException[] causes = new RuntimeException[candidates.size()];
        java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicLong lastLog = new java.util.concurrent.atomic.AtomicLong(t0);
        IntStream.range(0, candidates.size()).parallel().forEach(i -> {
            try {
                ImageDecoder.read(candidates.get(i));
            } catch (ResNeXtException | IllegalArgumentException e) {
                problems[i] = e.getMessage();
                causes[i] = e;
            }
            int d = done.incrementAndGet();
            long now = System.nanoTime();
            long last = lastLog.get();
            // a large folder takes minutes to check: say how far it is every 10 s
            if (now - last > 10_000_000_000L && lastLog.compareAndSet(last, now)) {
                log.info("checked {} of {} images in {} ({} s)", d, candidates.size(), root, (now - t0) / 1_000_000_000L);
            }
        });
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        int[] keptPerClass = new int[labelSpace.size()];
        for (int i = 0; i < candidates.size(); i++) {
            if (problems[i] != null) {
                if (!skipUnreadable) {
                    throw new ResNeXtException(problems[i] + " (remove it, or skip "
                            + "unreadable files)", causes[i]);
                }
                skipped.add(problems[i]);
                continue;
            }
            files.add(candidates.get(i));
            labels.add(candidateLabels.get(i));
            keptPerClass[candidateLabels.get(i)]++;
        }
        for (Path d : classDirs) {
            if (keptPerClass[labelSpace.indexOf(d.getFileName().toString())] == 0) {
                throw new ResNeXtException("class folder " + d + " has no readable images (all were skipped)");
            }
        }
        log.debug("checked {} images in {} ms", candidates.size(), (System.nanoTime() - t0) / 1_000_000);
        if (!skipped.isEmpty()) {
            log.warn("skipped {} unreadable files in {}:", skipped.size(), root);
            for (String s : skipped) {
                log.warn("  skipped {}", s);
            }
        }
        return new FolderImageSet(root, labelSpace, files,
                labels.stream().mapToInt(Integer::intValue).toArray(), skipped);
    }

    /** Files that were skipped (with the reason), when scanned with {@code skipUnreadable}. */
    public List<String> skipped() {
        return skipped;
    }

    @Override public int size() { return files.size(); }
    @Override public int label(int i) { return labels[i]; }
    @Override public List<String> classNames() { return classes; }
    @Override public String describe(int i) { return files.get(i).toString(); }
    @Override public DecodedImage decode(int i) { return ImageDecoder.read(files.get(i)); }
    @Override public String name() { return "folder " + root; }

    /** Path of image {@code i}. */
    public Path path(int i) {
        return files.get(i);
    }
}
