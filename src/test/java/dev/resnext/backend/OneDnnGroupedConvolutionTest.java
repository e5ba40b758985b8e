package dev.resnext.backend;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2DDerivative;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The oneDNN grouped convolution against libnd4j's conv2d run once per group. */
class OneDnnGroupedConvolutionTest {

    @BeforeAll
    static void backend() {
        Backends.initialize(BackendChoice.CPU);
    }

    private static INDArray group(INDArray a, int g, long width) {
        return a.get(NDArrayIndex.all(), NDArrayIndex.interval(g * width, (g + 1) * width), NDArrayIndex.all(),
                NDArrayIndex.all());
    }

    private static void close(INDArray expected, INDArray actual, String what) {
        double scale = Math.max(1e-3, expected.amaxNumber().doubleValue());
        double diff = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-4 * scale, what + ": max abs difference " + diff + " at scale " + scale);
    }

    @ParameterizedTest
    @CsvSource({"2,16,4,9,1", "3,32,4,8,2", "2,64,32,7,1", "1,8,2,5,2"})
    void matchesPerGroupConvolution(int n, int c, int groups, int h, int stride) {
        assertTrue(OneDnnGroupedConvolution.available());
        long gw = c / groups;
        long oh = (h + 2 - 3) / stride + 1;
        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.randn(DataType.FLOAT, n, c, h, h);
        INDArray w = Nd4j.randn(DataType.FLOAT, c, gw, 3, 3);
        INDArray dy = Nd4j.randn(DataType.FLOAT, n, c, oh, oh);
        var geo = new OneDnnGroupedConvolution.Geometry(n, c, h, h, c, oh, oh, groups, 3, 3, stride, stride, 1, 1, 1, 1);
        LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
        INDArray y = Nd4j.create(DataType.FLOAT, n, c, oh, oh);
        INDArray dx = Nd4j.create(DataType.FLOAT, n, c, h, h);
        INDArray dw = Nd4j.create(DataType.FLOAT, c, gw, 3, 3);
        OneDnnGroupedConvolution.forward(geo, x, w, y, mgr, ArrayType.FF_WORKING_MEM);
        OneDnnGroupedConvolution.backward(geo, x, w, dy, dx, dw, mgr, ArrayType.BP_WORKING_MEM);
        for (int g = 0; g < groups; g++) {
            INDArray xg = group(x, g, gw).dup();
            INDArray wg = w.get(NDArrayIndex.interval(g * gw, (g + 1) * gw)).dup();
            INDArray dyg = group(dy, g, gw).dup();
            close(libnd4jForward(xg, wg, 3, stride, 1, dyg), group(y, g, gw), "forward group " + g);
            INDArray[] grads = libnd4jBackward(xg, wg, dyg, 3, stride, 1);
            close(grads[0], group(dx, g, gw), "input gradient group " + g);
            close(grads[1], dw.get(NDArrayIndex.interval(g * gw, (g + 1) * gw)), "weight gradient group " + g);
        }
    }

    /**
     * 1x1 convolutions (the bottleneck's and the strided shortcut's) on plain NCHW arrays and in
     * oneDNN's blocked layout, both against libnd4j's conv2d.
     */
    @ParameterizedTest
    @CsvSource({"2,16,24,9,1,true", "2,16,24,9,1,false", "3,32,64,8,2,true", "3,32,64,8,2,false",
            "1,64,16,7,1,true"})
    void pointwiseMatchesLibnd4jOnPlainAndBlockedArrays(int n, int c, int oc, int h, int stride, boolean plain) {
        long oh = (h - 1) / stride + 1;
        Nd4j.getRandom().setSeed(11);
        INDArray x = Nd4j.randn(DataType.FLOAT, n, c, h, h);
        INDArray w = Nd4j.randn(DataType.FLOAT, oc, c, 1, 1);
        INDArray dy = Nd4j.randn(DataType.FLOAT, n, oc, oh, oh);
        var geo = new OneDnnGroupedConvolution.Geometry(n, c, h, h, oc, oh, oh, 1, 1, 1, stride, stride, 0, 0, 1, 1);
        INDArray y = Nd4j.create(DataType.FLOAT, n, oc, oh, oh);
        INDArray dx = Nd4j.create(DataType.FLOAT, n, c, h, h);
        INDArray dw = Nd4j.create(DataType.FLOAT, oc, c, 1, 1);
        LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
        try (var o = dev.resnext.RuntimeSettings.override(dev.resnext.RuntimeSettings.current().withPlainPointwise(plain))) {
            OneDnnGroupedConvolution.forward(geo, x, w, y, mgr, ArrayType.FF_WORKING_MEM);
            OneDnnGroupedConvolution.backward(geo, x, w, dy, dx, dw, mgr, ArrayType.BP_WORKING_MEM);
        }
        close(libnd4jForward(x, w, 1, stride, 0, dy), y, "forward");
        INDArray[] grads = libnd4jBackward(x, w, dy, 1, stride, 0);
        close(grads[0], dx, "input gradient");
        close(grads[1], dw, "weight gradient");
    }

    /** libnd4j's conv2d (NCHW, weights [oC, iC, k, k]) of x; {@code like} has the output's shape. */
    private static INDArray libnd4jForward(INDArray x, INDArray w, int k, int stride, int pad, INDArray like) {
        OpContext f = Nd4j.getExecutioner().buildContext();
        f.setIArguments(k, k, stride, stride, pad, pad, 1, 1, 0, 0, 1);
        INDArray y = Nd4j.create(DataType.FLOAT, like.shape());
        f.setInputArray(0, x);
        f.setInputArray(1, w);
        f.setOutputArray(0, y);
        Nd4j.exec(new Conv2D(), f);
        return y;
    }

    /** libnd4j's conv2d_bp: {input gradient, weight gradient}. */
    private static INDArray[] libnd4jBackward(INDArray x, INDArray w, INDArray dy, int k, int stride, int pad) {
        OpContext b = Nd4j.getExecutioner().buildContext();
        b.setIArguments(k, k, stride, stride, pad, pad, 1, 1, 0, 0, 1);
        INDArray dx = Nd4j.create(DataType.FLOAT, x.shape());
        INDArray dw = Nd4j.create(DataType.FLOAT, w.shape());
        b.setInputArray(0, x);
        b.setInputArray(1, w);
        b.setInputArray(2, dy);
        b.setOutputArray(0, dx);
        b.setOutputArray(1, dw);
        Nd4j.exec(new Conv2DDerivative(), b);
        return new INDArray[] {dx, dw};
    }
}
