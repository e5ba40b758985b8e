package dev.resnext.train;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Progress of a training run, saved in every checkpoint so that {@code --resume} continues exactly:
 * epochs done, the best epoch so far, the early-stopping counter and the per-epoch metrics.
 * The data order and augmentation of an epoch are derived from (seed, epoch), so no random
 * generator state needs saving.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public final class TrainingState {
    public int epochsCompleted;
    public int bestEpoch;
    public double bestMetric = Double.NaN;
    public int epochsSinceImprovement;
    public List<Map<String, Object>> history = new ArrayList<>();
    public Map<String, Object> bestValidation = new LinkedHashMap<>();
    public Map<String, Object> data = new LinkedHashMap<>();
}
