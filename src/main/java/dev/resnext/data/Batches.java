package dev.resnext.data;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Mini-batches over prepared images: features {@code [B, C, H, W]} (normalised), one-hot labels
 * {@code [B, K]}. Batches are assembled by a background thread, one or two ahead of the consumer,
 * so that decoding overlaps with training.
 *
 * <p>Augmentation is deterministic: image {@code j} of an epoch uses a random generator seeded
 * from (seed, epoch, j), so a resumed run sees exactly the same augmented images as an
 * uninterrupted one.
 */
public final class Batches implements Iterable<DataSet> {
    private final PreparedImages images;
    private final int[] order;
    private final int batchSize;
    private final int numClasses;
    private final DataNormalization normalizer;
    private final Augmentation augmentation;
    private final long seed;
    private final int epoch;

    /**
     * @param order        image indices in the order to visit (e.g. shuffled for training)
     * @param normalizer   applied to the features, or null
     * @param augmentation applied before normalisation ({@link Augmentation#NONE} for evaluation)
     */
    public Batches(PreparedImages images, int[] order, int batchSize, int numClasses, DataNormalization normalizer,
                   Augmentation augmentation, long seed, int epoch) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be positive, was " + batchSize);
        }
        this.images = images;
        this.order = order.clone();
        this.batchSize = batchSize;
        this.numClasses = numClasses;
        this.normalizer = normalizer;
        this.augmentation = augmentation;
        this.seed = seed;
        this.epoch = epoch;
    }

    /** Visits every image of the set once, in order, without augmentation. */
    public static Batches inOrder(PreparedImages images, int batchSize, int numClasses, DataNormalization normalizer) {
        int[] all = new int[images.set().size()];
        for (int i = 0; i < all.length; i++) all[i] = i;
        return new Batches(images, all, batchSize, numClasses, normalizer, Augmentation.NONE, 0, 0);
    }

    /** A seeded permutation of {@code indices} for one epoch. */
    public static int[] shuffled(int[] indices, long seed, int epoch) {
        int[] out = indices.clone();
        Random rng = new Random(seed * 1_000_003L + epoch);
        for (int i = out.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = out[i];
            out[i] = out[j];
            out[j] = t;
        }
        return out;
    }

    /**
     * A class-balanced sample for one epoch: as many images as {@code indices}, each class drawn
     * equally often (with replacement), in seeded random order.
     */
    public static int[] balanced(int[] indices, int[] labelsOfSet, long seed, int epoch) {
        java.util.Map<Integer, java.util.List<Integer>> byClass = new java.util.TreeMap<>();
        for (int idx : indices) byClass.computeIfAbsent(labelsOfSet[idx], k -> new java.util.ArrayList<>()).add(idx);
        List<List<Integer>> groups = new java.util.ArrayList<>(byClass.values());
        Random rng = new Random(seed * 999_983L + epoch);
        int[] out = new int[indices.length];
        for (int i = 0; i < out.length; i++) {
            List<Integer> g = groups.get(i % groups.size());
            out[i] = g.get(rng.nextInt(g.size()));
        }
        return shuffled(out, seed, epoch);
    }

    /** Number of batches (the last may be smaller). */
    public int count() {
        return (order.length + batchSize - 1) / batchSize;
    }

    /** Number of images. */
    public int size() {
        return order.length;
    }

    /** Builds batch {@code b} in the calling thread. */
    public DataSet batch(int b) {
        int from = b * batchSize;
        int n = Math.min(batchSize, order.length - from);
        var shape = images.shape();
        int len = shape.channels() * shape.height() * shape.width();
        float[] feat = new float[n * len];
        float[] lab = new float[n * numClasses];
        // uncertain labels that are ignored: mask them out of the loss, entry by entry
        float[] labMask = images.set().hasMasks() ? new float[n * numClasses] : null;
        for (int j = 0; j < n; j++) {
            int idx = order[from + j];
            float[] px = images.get(idx);
            if (augmentation.enabled()) {
                Random rng = new Random((seed * 31 + epoch) * 1_000_003L + from + j);
                px = augmentation.apply(px, shape.channels(), shape.height(), shape.width(), rng);
            }
            System.arraycopy(px, 0, feat, j * len, len);
            if (labMask != null) {
                float[] m = images.set().mask(idx);
                for (int k = 0; k < numClasses; k++) labMask[j * numClasses + k] = m == null ? 1f : m[k];
            }
            if (images.set().multiLabel()) {
                int[] t = images.set().targets(idx);
                for (int k = 0; k < numClasses; k++) lab[j * numClasses + k] = t[k];
            } else {
                lab[j * numClasses + images.set().label(idx)] = 1f;
            }
        }
        INDArray f = Nd4j.create(feat, new long[] {n, shape.channels(), shape.height(), shape.width()}, 'c');
        INDArray l = Nd4j.create(lab, new long[] {n, numClasses}, 'c');
        DataSet ds = new DataSet(f.castTo(DataType.FLOAT), l, null,
                labMask == null ? null : Nd4j.create(labMask, new long[] {n, numClasses}, 'c'));
        if (normalizer != null) {
            normalizer.transform(ds);
        }
        return ds;
    }

    /** Whether the images carry multi-label targets. */
    public boolean multiLabel() {
        return images.set().multiLabel();
    }

    /** Target vectors of the visited images, in order (multi-label sets). */
    public int[][] targets() {
        int[][] t = new int[order.length][];
        for (int i = 0; i < t.length; i++) t[i] = images.set().targets(order[i]);
        return t;
    }

    /** Labels of the visited images, in order. */
    public int[] labels() {
        int[] l = new int[order.length];
        for (int i = 0; i < l.length; i++) l[i] = images.set().label(order[i]);
        return l;
    }

    @Override
    public Iterator<DataSet> iterator() {
        return new Prefetching();
    }

    /** Builds batches on a daemon thread, at most two ahead. */
    private final class Prefetching implements Iterator<DataSet> {
        private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(2);
        private final int total = count();
        private int taken;
        private final Thread worker;

        Prefetching() {
            worker = new Thread(() -> {
                try {
                    for (int b = 0; b < total; b++) {
                        Object item;
                        try {
                            item = batch(b);
                        } catch (RuntimeException | Error e) {
                            // errors too (e.g. OutOfMemoryError): the consumer must see them, not wait forever
                            item = e;
                        }
                        queue.put(item);
                        if (item instanceof Throwable) return;
                    }
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            }, "batch-loader");
            worker.setDaemon(true);
            worker.start();
        }

        @Override
        public boolean hasNext() {
            return taken < total;
        }

        @Override
        public DataSet next() {
            if (!hasNext()) throw new NoSuchElementException();
            try {
                Object item = queue.take();
                taken++;
                if (item instanceof RuntimeException e) {
                    throw e;
                }
                if (item instanceof Error e) {
                    throw e;
                }
                return (DataSet) item;
            } catch (InterruptedException e) {
                worker.interrupt();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while loading batches", e);
            }
        }
    }
}
