package dev.resnext.runtime.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * Runtime layer of {@link BranchConvolution}: a convolution layer that, inside a fused
 * block, returns its slice of the block's grouped convolution instead of convolving its own
 * input (see {@link GroupedBlock}). Outside one, or when a pass is not fused, it is a
 * {@link OneDnnConvolutionImpl}.
 */
public class BranchConvolutionImpl extends OneDnnConvolutionImpl {

    private GroupedBlock block;
    private int group;

    public BranchConvolutionImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    void setBlock(GroupedBlock block, int group) {
        this.block = block;
        this.group = group;
    }

    /** Whether this layer currently belongs to a block that runs its groups as one convolution. */
    public boolean isFused() {
        return block != null && block.isFused();
    }

    BranchConvolution branchConf() {
        return (BranchConvolution) layerConf();
    }

    Map<String, INDArray> getGradientViews() {
        return gradientViews;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (block != null) {
            INDArray out = block.branchOutput(group, workspaceMgr);
            if (out != null) {
                return out;
            }
        }
        return super.activate(training, workspaceMgr);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        if (block != null) {
            Pair<Gradient, INDArray> p = block.branchBackward(this, group, workspaceMgr);
            if (p != null) {
                return p;
            }
        }
        return super.backpropGradient(epsilon, workspaceMgr);
    }
}
