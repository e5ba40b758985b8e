package dev.resnext.transfer;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The fine-tuning recipe used when the caller does not choose: chosen on PneumoniaMNIST validation
 * AUC among recipes fine-tuning backbones pre-trained on three other sources (the bundled shapes,
 * rotation prediction without labels, CIFAR-10), against training the same preset from scratch with
 * the same epoch budget (issue 14; table and method in docs/results.md).
 *
 * <p>The old defaults (a tenth of the learning rate for pre-trained layers, loss-based model
 * selection, no class weights, mirror images as augmentation) lost to training from scratch: a
 * backbone from another image set needs to move as far as a fresh one on a small medical set, and a
 * mirrored chest X-ray is not a plausible one.
 *
 * @param epochs           epochs of fine-tuning
 * @param batch            batch size
 * @param backboneLrFactor learning-rate factor of the pre-trained layers
 * @param twoPhaseEpochs   head-only epochs before everything is trained (0 = one phase)
 * @param monitor          validation metric that picks the saved epoch
 * @param classWeights     loss weights per class
 * @param augment          training augmentation
 */
public record FinetuneDefaults(int epochs, int batch, double backboneLrFactor, int twoPhaseEpochs, String monitor,
                               String classWeights, String augment) {

    /** The recipe in force. */
    public static final FinetuneDefaults CHOSEN = new FinetuneDefaults(20, 64, 1.0, 0, "val_auc", "auto",
            "shift,rotate");

    /** As recorded in a fine-tuned model's provenance. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("epochs", epochs);
        m.put("batch", batch);
        m.put("backboneLrFactor", backboneLrFactor);
        m.put("twoPhaseEpochs", twoPhaseEpochs);
        m.put("monitor", monitor);
        m.put("classWeights", classWeights);
        m.put("augment", augment);
        return m;
    }
}
