package dev.resnext.explain;

import dev.resnext.runtime.GraphRuntime;

import dev.resnext.ResNeXtException;
import dev.resnext.data.DecodedImage;
import dev.resnext.data.Normalization;
import dev.resnext.runtime.GraphOutputs;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.model.VertexNames;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.factory.Nd4j;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Grad-CAM maps against hand computations, and the overlay rendering. */
class GradCamTest {

    private static ResNeXtConfig config(int size, int classes) {
        return Presets.small().toBuilder().input(size, size, 1).numClasses(classes).build();
    }

    private static float[] randomImage(ResNeXtConfig c, long seed) {
        Random rng = new Random(seed);
        float[] px = new float[c.getInputChannels() * c.getInputHeight() * c.getInputWidth()];
        for (int i = 0; i < px.length; i++) {
            px[i] = rng.nextFloat();
        }
        return px;
    }

    @Test
    void mapOfConstructedActivationsEqualsHandComputation() {
        // two channels of 2x2: A0 = [[1,2],[3,4]], A1 = [[4,0],[1,2]]; class 1 has W[:,1] = [0.5, -1]
        INDArray a = Nd4j.create(new double[] {1, 2, 3, 4, 4, 0, 1, 2}, new long[] {1, 2, 2, 2}, 'c');
        INDArray w = Nd4j.create(new double[][] {{9, 0.5, -3}, {7, -1, 2}});
        // 0.5 A0 - A1 = [[-3.5, 1], [0.5, 0]] -> ReLU -> divided by the maximum 1
        float[][] map = GradCam.map(a, w, 1);
        assertArrayEquals(new float[] {0f, 1f}, map[0], 1e-6f);
        assertArrayEquals(new float[] {0.5f, 0f}, map[1], 1e-6f);
        // alpha_c = W[c,k] / (h w)
        assertArrayEquals(new double[] {0.125, -0.25}, GradCam.channelWeights(w, 1, 2, 2), 1e-12);
        // class 0: 9 A0 + 7 A1 = [[37, 18], [34, 50]] / 50
        float[][] map0 = GradCam.map(a, w, 0);
        assertArrayEquals(new float[] {37 / 50f, 18 / 50f}, map0[0], 1e-6f);
        assertArrayEquals(new float[] {34 / 50f, 1f}, map0[1], 1e-6f);
        // nothing positive: all zeros, not NaN
        INDArray negative = Nd4j.create(new double[][] {{-1, 0, 0}, {-1, 0, 0}});
        for (float[] row : GradCam.map(a, negative, 0)) {
            assertArrayEquals(new float[] {0f, 0f}, row);
        }
        assertThrows(ResNeXtException.class, () -> GradCam.map(a, w, 3));
    }

    @Test
    void mapOfANetworkEqualsReluOfWeightedActivations() {
        ResNeXtConfig c = config(16, 3);
        ComputationGraph graph = GraphRuntime.create(ResNeXtGraphFactory.build(c));
        Random rng = new Random(3);
        double[][] weights = new double[(int) graph.getLayer(VertexNames.HEAD_FC).getParam("W").size(0)][3];
        for (double[] row : weights) {
            for (int k = 0; k < row.length; k++) {
                row[k] = rng.nextGaussian();
            }
        }
        graph.getLayer(VertexNames.HEAD_FC).setParam("W", Nd4j.create(weights).castTo(DataType.FLOAT));
        graph.getLayer(VertexNames.HEAD_FC).setParam("b", Nd4j.create(new double[][] {{0.3, -0.2, 0.1}})
                .castTo(DataType.FLOAT));
        float[] image = randomImage(c, 7);
        GradCam cam = new GradCam(graph, c, null);
        String layer = VertexNames.stageOutput(c, 3);
        assertEquals(layer, cam.layer());

        INDArray x = Nd4j.create(image, new long[] {1, 1, 16, 16}, 'c');
        Map<String, INDArray> out = GraphOutputs.activations(graph, x, List.of(layer, VertexNames.HEAD_FC), 1);
        INDArray a = out.get(layer).castTo(DataType.DOUBLE);
        int channels = (int) a.size(1);
        int h = (int) a.size(2);
        int w = (int) a.size(3);
        assertEquals(4, h);
        assertEquals(4, w);
        double[] logits = out.get(VertexNames.HEAD_FC).castTo(DataType.DOUBLE).reshape(-1).toDoubleVector();
        double[] bias = {0.3, -0.2, 0.1};
        int classesWithEvidence = 0;
        for (int k = 0; k < 3; k++) {
            // the logit is b_k + sum_c W[c,k] mean_ij A[c,i,j]: linear in A with slope W[c,k]/(hw)
            double y = bias[k];
            for (int ch = 0; ch < channels; ch++) {
                y += weights[ch][k] * a.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                        org.nd4j.linalg.indexing.NDArrayIndex.point(ch)).meanNumber().doubleValue();
            }
            assertEquals(logits[k], y, 1e-4, "logit " + k);

            double[][] expected = new double[h][w];
            double max = 0;
            for (int i = 0; i < h; i++) {
                for (int j = 0; j < w; j++) {
                    double s = 0;
                    for (int ch = 0; ch < channels; ch++) {
                        s += weights[ch][k] * a.getDouble(0, ch, i, j);
                    }
                    expected[i][j] = Math.max(0, s);
                    max = Math.max(max, expected[i][j]);
                }
            }
            if (max > 0) {
                classesWithEvidence++;
            }
            GradCam.Result r = cam.explain(image, k);
            assertEquals(k, r.classIndex());
            assertEquals(h, r.height());
            assertEquals(w, r.width());
            assertEquals(max / (h * w), r.maxEvidence(), 1e-5);
            for (int i = 0; i < h; i++) {
                for (int j = 0; j < w; j++) {
                    assertEquals(max > 0 ? expected[i][j] / max : 0, r.map()[i][j], 1e-5,
                            "class " + k + " at " + i + "," + j);
                }
            }
            double sum = Math.exp(logits[0]) + Math.exp(logits[1]) + Math.exp(logits[2]);
            assertEquals(Math.exp(logits[k]) / sum, r.probability(), 1e-5);
        }
        assertTrue(classesWithEvidence > 0, "a random classifier has positive evidence somewhere");
        GradCam.Result predicted = cam.explain(image, -1);
        assertEquals(predicted.predictedClass(), predicted.classIndex());
        for (double p : predicted.probabilities()) {
            assertTrue(p <= predicted.probability());
        }
        assertThrows(ResNeXtException.class, () -> cam.explain(image, 3));
        assertThrows(ResNeXtException.class, () -> cam.explain(new float[5], 0));
    }

    @Test
    void appliesTheModelsNormaliser() {
        ResNeXtConfig c = config(8, 2);
        ComputationGraph graph = GraphRuntime.create(ResNeXtGraphFactory.build(c));
        NormalizerStandardize norm = Normalization.of(new float[] {0.4f}, new float[] {0.2f});
        float[] image = randomImage(c, 11);
        float[] standardised = new float[image.length];
        for (int i = 0; i < image.length; i++) {
            standardised[i] = (image[i] - 0.4f) / 0.2f;
        }
        float[] copy = image.clone();
        GradCam.Result withNorm = new GradCam(graph, c, norm).explain(image, 1);
        assertArrayEquals(copy, image, "the prepared image is not modified");
        GradCam.Result byHand = new GradCam(graph, c, null).explain(standardised, 1);
        assertEquals(byHand.probability(), withNorm.probability(), 1e-6);
        for (int i = 0; i < byHand.height(); i++) {
            assertArrayEquals(byHand.map()[i], withNorm.map()[i], 1e-5f);
        }
    }

    @Test
    void smallLastStagesGiveOneByOneAndTwoByTwoMaps() {
        for (int[] sizeAndMap : new int[][] {{4, 1}, {8, 2}}) {
            ResNeXtConfig c = config(sizeAndMap[0], 2);
            GradCam cam = new GradCam(GraphRuntime.create(ResNeXtGraphFactory.build(c)), c, null);
            GradCam.Result r = cam.explain(randomImage(c, 5), -1);
            assertEquals(sizeAndMap[1], r.height());
            assertEquals(sizeAndMap[1], r.width());
            for (float[] row : r.map()) {
                for (float v : row) {
                    assertTrue(v >= 0 && v <= 1, "map value " + v);
                }
            }
            BufferedImage overlay = HeatmapOverlay.render(new DecodedImage(new float[37 * 23 * 3], 37, 23, 3, 8),
                    r.map(), 0.5);
            assertEquals(23, overlay.getWidth());
            assertEquals(37, overlay.getHeight());
        }
    }

    @Test
    void refusesAnotherHead() {
        ResNeXtConfig c = config(8, 2);
        ComputationGraphConfiguration conf = ResNeXtGraphFactory.build(c);
        var fc = (DenseLayer) ((org.deeplearning4j.nn.conf.graph.LayerVertex) conf.getVertices()
                .get(VertexNames.HEAD_FC)).getLayerConf().getLayer();
        fc.setActivationFn(Activation.TANH.getActivationFunction());
        ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        ResNeXtException e = assertThrows(ResNeXtException.class, () -> new GradCam(graph, c, null));
        assertTrue(e.getMessage().contains("identity"), e.getMessage());
    }

    @Test
    void overlayHasTheOriginalSizeAndBlendsTheColormap(@TempDir Path dir) throws Exception {
        int h = 30;
        int w = 20;
        float[] gray = new float[h * w];
        java.util.Arrays.fill(gray, 0.2f);
        DecodedImage img = new DecodedImage(gray, h, w, 1, 8);
        float[][] map = {{0f, 1f}};
        // alpha 0: only the image
        BufferedImage plain = HeatmapOverlay.render(img, map, 0);
        assertEquals(0x333333, plain.getRGB(3, 3) & 0xFFFFFF);
        // alpha 1: jet, blue on the left (0) and dark red on the right (1)
        BufferedImage heat = HeatmapOverlay.render(img, map, 1);
        assertEquals(w, heat.getWidth());
        assertEquals(h, heat.getHeight());
        assertEquals(HeatmapOverlay.jet(0), heat.getRGB(0, 10) & 0xFFFFFF);
        assertEquals(HeatmapOverlay.jet(1), heat.getRGB(w - 1, 10) & 0xFFFFFF);
        assertEquals(0x000080, HeatmapOverlay.jet(0));
        assertEquals(0x800000, HeatmapOverlay.jet(1));
        // bilinear with half-pixel centres: the middle columns are halfway
        float[] up = HeatmapOverlay.upsample(map, h, w);
        assertEquals(0f, up[0], 1e-6f);
        assertEquals(1f, up[w - 1], 1e-6f);
        assertEquals(0.5f, (up[w / 2 - 1] + up[w / 2]) / 2, 1e-6f);
        // alpha 0.5 blends both
        int mixed = HeatmapOverlay.render(img, map, 0.5).getRGB(0, 0);
        assertEquals(Math.round((0.5 * 0.2 + 0.5 * 0.5) * 255), mixed & 0xFF);

        Path png = dir.resolve("sub/overlay.png");
        HeatmapOverlay.writePng(png, heat);
        BufferedImage back = ImageIO.read(png.toFile());
        assertEquals(w, back.getWidth());
        assertEquals(h, back.getHeight());
        try (var files = Files.list(png.getParent())) {
            assertEquals(1, files.count(), "no temporary file left");
        }
        assertThrows(IllegalArgumentException.class, () -> HeatmapOverlay.render(img, map, 1.5));
    }
}
