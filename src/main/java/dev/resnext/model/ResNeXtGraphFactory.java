package dev.resnext.model;

import org.deeplearning4j.nn.conf.CacheMode;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.distribution.NormalDistribution;
import org.deeplearning4j.nn.conf.distribution.UniformDistribution;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.weights.WeightInitDistribution;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import static dev.resnext.model.VertexNames.*;

/**
 * Builds the DL4J {@link ComputationGraphConfiguration} of a ResNeXt from a {@link ResNeXtConfig}.
 *
 * <p>Topology is torchvision's ("ResNet v1.5", Xie et al. 2017 form (b) realised as (c)-equivalent
 * groups): 1x1 reduce, BN, ReLU; the reduced activations cut into {@code cardinality} channel
 * slices by one channel-slice vertex each (DL4J's SubsetVertex); one 3x3 convolution per slice
 * (stride on the 3x3); the branches concatenated back by a MergeVertex (at run time the branches
 * of a block can execute as one grouped convolution); BN, ReLU, 1x1 expand, BN; a
 * 1x1 strided convolution plus BN as the shortcut where the shape changes; sum and ReLU.
 * Convolutions have no bias, BN uses eps 1e-5 and momentum 0.1 (DL4J decay 0.9) and stores the
 * variance (not log-std), and every padding is explicit with {@link ConvolutionMode#Truncate}
 * so that it equals PyTorch's symmetric padding. Initialisation follows torchvision:
 * Kaiming-normal (fan-out, ReLU) for convolutions, BN weight 1 and bias 0, U(+-1/sqrt(fan_in))
 * for the classifier's weights.
 *
 * <p>{@link #graphBuilder(ResNeXtConfig)} is public so that callers can extend the graph before
 * building it. Every block helper takes its input vertex name and returns its output vertex name.
 */
public final class ResNeXtGraphFactory {

    private ResNeXtGraphFactory() {
    }

    /**
     * The validated graph configuration, in stock form (DL4J's classes only). To get a network with
     * fresh weights, hand it to the runtime: {@code GraphRuntime.create(build(config))}.
     */
    public static ComputationGraphConfiguration build(ResNeXtConfig config) {
        return finish(graphBuilder(config));
    }

    /**
     * Builds a graph builder into a stock configuration ({@link StockForm}), working around DL4J
     * 1.0.0-M2.1's {@code LayerValidation.configureBaseLayer}, which appends the global
     * {@code WeightDecay} to the copy every layer already inherited, so that weight decay would be
     * applied twice.
     */
    public static ComputationGraphConfiguration finish(GraphBuilder builder) {
        ComputationGraphConfiguration conf = builder.build();
        for (org.deeplearning4j.nn.conf.graph.GraphVertex v : conf.getVertices().values()) {
            if (v instanceof org.deeplearning4j.nn.conf.graph.LayerVertex lv) {
                dedupeRegularization(lv.getLayerConf().getLayer());
            }
        }
        return StockForm.of(conf);
    }

    /** Removes repeated regularization terms from a layer (the one algorithm for every caller). */
    public static void dedupeRegularization(org.deeplearning4j.nn.conf.layers.Layer layer) {
        if (layer instanceof org.deeplearning4j.nn.conf.layers.BaseLayer b) {
            if (b.getRegularization() != null) {
                b.setRegularization(new java.util.ArrayList<>(new java.util.LinkedHashSet<>(b.getRegularization())));
            }
            if (b.getRegularizationBias() != null) {
                b.setRegularizationBias(new java.util.ArrayList<>(
                        new java.util.LinkedHashSet<>(b.getRegularizationBias())));
            }
        }
    }

    /** The graph builder with every vertex added, input types set and outputs declared. */
    public static GraphBuilder graphBuilder(ResNeXtConfig config) {
        NeuralNetConfiguration.Builder base = new NeuralNetConfiguration.Builder()
                .seed(config.getSeed())
                .dataType(dataType(config.getDataType()))
                .updater(updater(config))
                .convolutionMode(ConvolutionMode.Truncate)
                .trainingWorkspaceMode(WorkspaceMode.ENABLED)
                .inferenceWorkspaceMode(WorkspaceMode.ENABLED)
                .cacheMode(CacheMode.NONE);
        if (config.getWeightDecay() > 0) {
            if (config.getOptimizer() == OptimizerKind.ADAM) {
                base.l2(config.getWeightDecay());
            } else {
                // DL4J's weight decay is decoupled (AdamW); for SGD it equals L2 times the learning rate
                base.weightDecay(config.getWeightDecay(), true);
            }
        }
        GraphBuilder g = base.graphBuilder()
                .addInputs(INPUT)
                .setInputTypes(InputType.convolutional(config.getInputHeight(), config.getInputWidth(),
                        config.getInputChannels()));

        Topology topology = Topology.of(config);
        String x = addStem(g, config, topology.stem(), INPUT);
        for (Topology.Block block : topology.blocks()) {
            x = addBottleneck(g, config, block, x);
        }
        addHead(g, config, topology.head(), x);
        g.setOutputs(HEAD_LOSS);
        return g;
    }

    /** Adds the stem after {@code input}; returns its output vertex name. */
    public static String addStem(GraphBuilder g, ResNeXtConfig c, Topology.Stem stem, String input) {
        int width = stem.width();
        g.addLayer(stem.conv(), conv(stem.kernel(), stem.stride(), stem.padding(), width,
                width * stem.kernel() * stem.kernel()), input);
        g.addLayer(stem.bn(), bn(c, width), stem.conv());
        g.addLayer(stem.relu(), relu(), stem.bn());
        if (stem.pools()) {
            // after a ReLU, zero padding equals PyTorch's -inf padding for max pooling
            g.addLayer(stem.pool(), new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(3, 3).stride(2, 2)
                    .padding(1, 1).convolutionMode(ConvolutionMode.Truncate).build(), stem.relu());
        }
        return stem.output();
    }

    /**
     * Adds one bottleneck block (torchvision {@code Bottleneck} with groups = cardinality).
     *
     * @param block the block's shape and vertex names
     * @param input input vertex name
     * @return the block's output vertex name ({@code stageS.blockB.out})
     */
    public static String addBottleneck(GraphBuilder g, ResNeXtConfig c, Topology.Block block, String input) {
        int width = block.width();
        int groupWidth = block.groupWidth();
        int out = block.outChannels();
        int stride = block.stride();

        g.addLayer(block.conv1(), conv(1, 1, 0, width, width), input);
        g.addLayer(block.bn1(), bn(c, width), block.conv1());
        g.addLayer(block.relu1(), relu(), block.bn1());

        for (int k = 0; k < block.groups(); k++) {
            g.addVertex(block.split(k), ChannelSlice.of(k * groupWidth, groupWidth), block.relu1());
            // torchvision initialises the grouped conv with fan_out = all output channels * 3 * 3
            g.addLayer(block.groupConv(k), branchConv(stride, groupWidth, width * 9), block.split(k));
        }
        if (block.groups() > 1) {
            g.addVertex(block.merged(), new MergeVertex(), block.groupConvs().toArray(String[]::new));
        }
        g.addLayer(block.bn2(), bn(c, width), block.merged());
        g.addLayer(block.relu2(), relu(), block.bn2());
        g.addLayer(block.conv3(), conv(1, 1, 0, out, out), block.relu2());
        BatchNormalization bn3 = c.isZeroInitResidual() ? bnBuilder(c, out).gamma(0.0).build() : bn(c, out);
        g.addLayer(block.bn3(), bn3, block.conv3());

        String shortcut = input;
        if (block.projects()) {
            g.addLayer(block.downsampleConv(), conv(1, stride, 0, out, out), input);
            g.addLayer(block.downsampleBn(), bn(c, out), block.downsampleConv());
            shortcut = block.downsampleBn();
        }
        g.addVertex(block.add(), new ElementWiseVertex(ElementWiseVertex.Op.Add), block.bn3(), shortcut);
        g.addLayer(block.output(), relu(), block.add());
        return block.output();
    }

    /** Adds global average pooling, the classifier and its loss; returns the loss vertex name. */
    public static String addHead(GraphBuilder g, ResNeXtConfig c, Topology.Head head, String input) {
        g.addLayer(head.pool(), new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), input);
        g.addLayer(head.fc(), classifier(head.inChannels(), head.classes()), head.pool());
        g.addLayer(head.loss(), lossLayer(c.isMultiLabel(), head.classes()), head.fc());
        return head.loss();
    }

    /** The classifier (logits) layer: torchvision's Linear init U(+-1/sqrt(fan_in)) for the weights, zero bias. */
    public static DenseLayer classifier(int inChannels, int classes) {
        double bound = 1.0 / Math.sqrt(inChannels);
        return new DenseLayer.Builder().nIn(inChannels).nOut(classes).activation(Activation.IDENTITY)
                .weightInit(new WeightInitDistribution(new UniformDistribution(-bound, bound)))
                .biasInit(0.0).hasBias(true).build();
    }

    /** The loss layer for single-label (softmax + cross-entropy) or multi-label (sigmoid + binary) heads. */
    public static LossLayer lossLayer(boolean multiLabel, int classes) {
        LossLayer.Builder b = multiLabel
                ? new LossLayer.Builder(LossFunctions.LossFunction.XENT).activation(Activation.SIGMOID)
                : new LossLayer.Builder(LossFunctions.LossFunction.MCXENT).activation(Activation.SOFTMAX);
        LossLayer layer = b.build();
        // the builder refuses nIn/nOut, but an unset nOut makes DL4J log "Assigning a size of zero"
        layer.setNIn(classes);
        layer.setNOut(classes);
        return layer;
    }

    /** The DL4J updater for the configured optimizer at the configured (constant) learning rate. */
    public static IUpdater updater(ResNeXtConfig c) {
        return updater(c, new org.nd4j.linalg.schedule.FixedSchedule(c.getLearningRate()));
    }

    /** The DL4J updater for the configured optimizer with a learning-rate schedule (the one optimizer switch). */
    public static IUpdater updater(ResNeXtConfig c, org.nd4j.linalg.schedule.ISchedule learningRate) {
        return switch (c.getOptimizer()) {
            case SGD -> new Sgd(learningRate);
            case NESTEROV -> new Nesterovs(learningRate, c.getMomentum());
            case ADAM, ADAMW -> new Adam(learningRate);
        };
    }

    /** The ND4J data type for a configured precision. */
    public static DataType dataType(ResNeXtConfig.Precision p) {
        return switch (p) {
            case FLOAT -> DataType.FLOAT;
            case DOUBLE -> DataType.DOUBLE;
            case HALF -> DataType.HALF;
        };
    }

    private static ConvolutionLayer conv(int kernel, int stride, int padding, int nOut, int fanOut) {
        return new ConvolutionLayer.Builder(kernel, kernel).stride(stride, stride).padding(padding, padding)
                .nOut(nOut).hasBias(false).activation(Activation.IDENTITY)
                .convolutionMode(ConvolutionMode.Truncate)
                .weightInit(new WeightInitDistribution(new NormalDistribution(0, Math.sqrt(2.0 / fanOut))))
                .build();
    }

    /** One group's 3x3 convolution (the runtime may execute a block's groups as one grouped convolution). */
    private static ConvolutionLayer branchConv(int stride, int nOut, int fanOut) {
        return conv(Topology.GROUP_KERNEL, stride, Topology.GROUP_KERNEL / 2, nOut, fanOut);
    }

    private static BatchNormalization.Builder bnBuilder(ResNeXtConfig c, int channels) {
        return new BatchNormalization.Builder().nOut(channels).eps(c.getBnEps()).decay(1.0 - c.getBnMomentum())
                .useLogStd(false).gamma(1.0).beta(0.0);
    }

    private static BatchNormalization bn(ResNeXtConfig c, int channels) {
        return bnBuilder(c, channels).build();
    }

    /** A ReLU (every one follows a BN or the residual sum, so the runtime may run it in place). */
    private static ActivationLayer relu() {
        return new ActivationLayer.Builder().activation(Activation.RELU).build();
    }
}
