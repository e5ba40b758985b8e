package dev.resnext.train;

import dev.resnext.data.Batches;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * A {@link DataSetIterator} over one epoch's {@link Batches}, for DL4J components that take an
 * iterator (ParallelWrapper). Batches are built on demand (by {@code Batches}' own loader thread),
 * never held all in memory; {@link #reset()} starts the same epoch again, with the same order and
 * augmentation. The features are already normalised, so there is no pre-processor.
 */
final class BatchesIterator implements DataSetIterator {
    private final Batches batches;
    private final int batchSize;
    private final int numClasses;
    private final List<String> labels;
    private Iterator<DataSet> current;

    BatchesIterator(Batches batches, int batchSize, int numClasses, List<String> labels) {
        this.batches = batches;
        this.batchSize = batchSize;
        this.numClasses = numClasses;
        this.labels = labels;
    }

    @Override
    public boolean hasNext() {
        return iterator().hasNext();
    }

    @Override
    public DataSet next() {
        if (!hasNext()) throw new NoSuchElementException();
        return iterator().next();
    }

    /** Batches come in the epoch's fixed size; {@code num} is ignored, as DL4J's own file iterators do. */
    @Override
    public DataSet next(int num) {
        return next();
    }

    private Iterator<DataSet> iterator() {
        if (current == null) {
            current = batches.iterator();
        }
        return current;
    }

    @Override
    public int inputColumns() {
        return -1; // images, not vectors
    }

    @Override
    public int totalOutcomes() {
        return numClasses;
    }

    @Override
    public boolean resetSupported() {
        return true;
    }

    @Override
    public boolean asyncSupported() {
        return true;
    }

    @Override
    public void reset() {
        current = null;
    }

    @Override
    public int batch() {
        return batchSize;
    }

    @Override
    public void setPreProcessor(DataSetPreProcessor preProcessor) {
        throw new UnsupportedOperationException("batches are already normalised");
    }

    @Override
    public DataSetPreProcessor getPreProcessor() {
        return null;
    }

    @Override
    public List<String> getLabels() {
        return labels;
    }
}
