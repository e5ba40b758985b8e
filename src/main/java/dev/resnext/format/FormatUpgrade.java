package dev.resnext.format;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.resnext.ResNeXtException;
import dev.resnext.train.LearningRateSchedule;

import java.util.Iterator;
import java.util.Map;

/**
 * Turns the {@code configuration.json} of a format-1 zip into the stock form of format 2.
 *
 * <p>Format 1 (written before the runtime door existed) named the project's own layer classes,
 * which have since become runtime-only and moved. Each had exactly the fields of the DL4J class it
 * extended, so the upgrade renames the class, except for two: the channel split stored
 * {@code firstChannel}/{@code channels} where DL4J's SubsetVertex stores an inclusive
 * {@code from}/{@code to}, and the learning-rate schedule of the training job, which is replaced by
 * the rate it gave at the stored iteration (training jobs set their schedule again).
 */
final class FormatUpgrade {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Format-1 class name -> the stock class it stands for (same fields). */
    private static final Map<String, String> RENAMED = Map.of(
            "dev.resnext.model.OneDnnConvolution", "org.deeplearning4j.nn.conf.layers.ConvolutionLayer",
            "dev.resnext.model.BranchConvolution", "org.deeplearning4j.nn.conf.layers.ConvolutionLayer",
            "dev.resnext.model.OneDnnBatchNormalization", "org.deeplearning4j.nn.conf.layers.BatchNormalization",
            "dev.resnext.model.InPlaceReLU", "org.deeplearning4j.nn.conf.layers.ActivationLayer",
            "dev.resnext.model.ChannelMergeVertex", "org.deeplearning4j.nn.conf.graph.MergeVertex");
    private static final String SPLIT = "dev.resnext.model.ChannelSplitVertex";
    private static final String SCHEDULE = "dev.resnext.train.LearningRateSchedule";

    private FormatUpgrade() {
    }

    /** The stock configuration JSON for a format-1 one. */
    static String v1ToV2(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (Exception e) {
            throw new ResNeXtException("configuration.json is not valid JSON: " + e.getMessage());
        }
        if (!(root instanceof ObjectNode top)) {
            throw new ResNeXtException("configuration.json is not a JSON object");
        }
        int iteration = top.path("iterationCount").asInt(0);
        int epoch = top.path("epochCount").asInt(0);
        rewrite(top, iteration, epoch);
        return top.toString();
    }

    private static void rewrite(JsonNode node, int iteration, int epoch) {
        if (node instanceof ObjectNode obj) {
            String cls = obj.path("@class").asText(null);
            if (cls != null && RENAMED.containsKey(cls)) {
                obj.put("@class", RENAMED.get(cls));
            } else if (SPLIT.equals(cls)) {
                int first = obj.path("firstChannel").asInt();
                int channels = obj.path("channels").asInt();
                obj.removeAll();
                obj.put("@class", "org.deeplearning4j.nn.conf.graph.SubsetVertex");
                obj.put("from", first);
                obj.put("to", first + channels - 1);
            }
            JsonNode schedule = obj.get("learningRateSchedule");
            if (schedule != null && SCHEDULE.equals(schedule.path("@class").asText())) {
                obj.put("learningRate", rate(schedule, iteration, epoch));
                obj.putNull("learningRateSchedule");
            }
            for (Iterator<JsonNode> it = obj.elements(); it.hasNext(); ) {
                rewrite(it.next(), iteration, epoch);
            }
        } else if (node != null && node.isArray()) {
            for (JsonNode child : node) {
                rewrite(child, iteration, epoch);
            }
        }
    }

    /** The format-1 schedule's rate at {@code iteration} (the training job's own schedule, rebuilt from its fields). */
    static double rate(JsonNode s, int iteration, int epoch) {
        LearningRateSchedule.Kind kind = LearningRateSchedule.Kind.valueOf(s.path("kind").asText("CONSTANT"));
        return new LearningRateSchedule(kind, s.path("baseLr").asDouble(), s.path("warmupIterations").asInt(),
                s.path("totalIterations").asInt(), s.path("stepIterations").asInt(), s.path("gamma").asDouble())
                .valueAt(iteration, epoch);
    }
}
