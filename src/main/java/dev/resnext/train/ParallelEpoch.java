package dev.resnext.train;

import dev.resnext.runtime.GraphRuntime;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.slf4j.Logger;

import java.util.Locale;
import java.util.Map;

/**
 * One epoch of data-parallel training with DL4J's {@link ParallelWrapper}.
 *
 * <p>Mode: {@link ParallelWrapper.TrainingMode#AVERAGING} with averaging after every round (each
 * round gives one batch to each of the N replicas; parameters and optimizer state are then
 * averaged into the model). For SGD/Nesterov this is synchronous data parallelism: one step with
 * N batches, as a single worker with an N times larger batch. It is the robust choice on the CPU
 * and needs no tuning; SHARED_GRADIENTS (threshold-encoded asynchronous gradient sharing) pays off
 * only with several GPUs and a large model, and its threshold must be tuned per model.
 *
 * <p>Replica 0 trains on the model itself, the others on copies made at the start of the epoch;
 * the wrapper is closed (its threads stopped) at the end of every epoch, also on failure.
 */
final class ParallelEpoch {
    /**
     * @param lossSum  sum over batches of (loss x images)
     * @param seen     images trained on
     * @param badLoss  the first non-finite loss, or 0 when all were finite
     * @param badBatch the batch (1-based, in completion order) of {@code badLoss}, 0 when none
     */
    record Outcome(double lossSum, long seen, double badLoss, int badBatch) {
    }

    private final int workers;
    private final Logger log;

    ParallelEpoch(int workers, Logger log) {
        this.workers = workers;
        this.log = log;
    }

    Outcome fit(ComputationGraph graph, DataSetIterator batches, int epoch, int epochs, int batchCount,
                int imageCount) {
        ParallelWrapper pw = new ParallelWrapper.Builder<>(graph)
                .workers(workers)
                .trainingMode(ParallelWrapper.TrainingMode.AVERAGING)
                .averagingFrequency(1)
                .averageUpdaters(true)
                .reportScoreAfterAveraging(true)
                .prefetchBuffer(2 * workers)
                .build();
        Progress progress = new Progress(pw, epoch, epochs, batchCount, imageCount);
        pw.setListeners(progress);
        try {
            pw.fit(batches);
        } finally {
            pw.shutdown();
            // the wrapper adds its listeners to the model itself (replica 0): take ours off again
            java.util.List<org.deeplearning4j.optimize.api.TrainingListener> keep =
                    new java.util.ArrayList<>(graph.getListeners());
            keep.remove(progress);
            graph.setListeners(keep);
        }
        synchronized (progress) {
            return new Outcome(progress.lossSum, progress.seen, progress.badLoss, progress.badBatch);
        }
    }

    /** Called by every replica after each of its steps: loss, NaN detection, progress log. */
    private final class Progress extends BaseTrainingListener {
        private final ParallelWrapper pw;
        private final int epoch;
        private final int epochs;
        private final int batchCount;
        private final int imageCount;
        private final long start = System.nanoTime();
        private long lastLog = start;
        double lossSum;
        long seen;
        int batches;
        double badLoss;
        int badBatch;

        Progress(ParallelWrapper pw, int epoch, int epochs, int batchCount, int imageCount) {
            this.pw = pw;
            this.epoch = epoch;
            this.epochs = epochs;
            this.batchCount = batchCount;
            this.imageCount = imageCount;
        }

        /**
         * The wrapper builds its replicas itself; tune each one's gradient workspaces after its first
         * forward pass, before its first backward pass opens them (each replica has its own thread).
         */
        @Override
        public void onForwardPass(Model model, Map<String, INDArray> activations) {
            if (model instanceof ComputationGraph g) {
                GraphRuntime.prepare(g); // replicas are built by the wrapper: runtime form already, so this sizes workspaces
            }
        }

        @Override
        public synchronized void iterationDone(Model model, int iteration, int ep) {
            double loss = model.score();
            int n = model.batchSize();
            batches++;
            if (!Double.isFinite(loss)) {
                if (badBatch == 0) {
                    badLoss = loss;
                    badBatch = batches;
                    pw.stopFit(); // no point in finishing the epoch
                }
                return;
            }
            lossSum += loss * n;
            seen += n;
            long now = System.nanoTime();
            if (now - lastLog > 10_000_000_000L && batches < batchCount) {
                double rate = seen / ((now - start) / 1e9);
                double etaEpoch = (imageCount - seen) / rate;
                double etaRun = etaEpoch + (epochs - epoch - 1) * (imageCount / rate);
                log.info(String.format(Locale.ROOT,
                        "epoch %d/%d batch %d/%d loss %.4f %.1f img/s (%d workers) ETA epoch %s, run %s",
                        epoch + 1, epochs, batches, batchCount, lossSum / seen, rate, workers,
                        Trainer.duration(etaEpoch), Trainer.duration(etaRun)));
                lastLog = now;
            }
        }
    }
}
