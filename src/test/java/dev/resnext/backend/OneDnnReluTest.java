package dev.resnext.backend;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinearDerivative;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.conditions.Conditions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** oneDNN's ReLU gradient against libnd4j's relu_bp, from the ReLU's input and from its output. */
class OneDnnReluTest {

    @Test
    void gradientEqualsLibnd4jFromInputAndFromOutput() {
        assumeTrue(OneDnn.available(), "oneDNN not available");
        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.randn(DataType.FLOAT, 3, 5, 7, 9);
        x.slice(0).assign(0);                       // exact zeros: gradient 0, as libnd4j
        INDArray dy = Nd4j.randn(DataType.FLOAT, 3, 5, 7, 9);
        INDArray expected = Nd4j.createUninitialized(DataType.FLOAT, x.shape());
        Nd4j.exec(new RectifiedLinearDerivative(x, dy, expected));

        INDArray fromInput = Nd4j.createUninitialized(DataType.FLOAT, x.shape());
        assertTrue(OneDnnRelu.supports(x, dy, fromInput));
        OneDnnRelu.backward(x, dy, fromInput);
        assertEquals(expected, fromInput);

        INDArray y = x.dup();
        y.replaceWhere(Nd4j.zerosLike(y), Conditions.lessThan(0));   // relu(x), as after an in-place pass
        INDArray fromOutput = Nd4j.createUninitialized(DataType.FLOAT, x.shape());
        OneDnnRelu.backward(y, dy, fromOutput);
        assertEquals(expected, fromOutput);
        // the sign pattern really was mixed
        assertTrue(expected.eq(0).castTo(DataType.INT).sumNumber().intValue() > x.length() / 3);
    }

    @Test
    void declinesArraysItCannotTake() {
        assumeTrue(OneDnn.available(), "oneDNN not available");
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, 6);
        assertFalse(OneDnnRelu.supports(x.transpose(), Nd4j.randn(DataType.FLOAT, 6, 4), Nd4j.create(DataType.FLOAT, 6, 4)),
                "a transposed view is not dense");
        assertFalse(OneDnnRelu.supports(x.castTo(DataType.DOUBLE), x.castTo(DataType.DOUBLE), x.castTo(DataType.DOUBLE)),
                "double precision stays on libnd4j");
        assertFalse(OneDnnRelu.supports(x, Nd4j.randn(DataType.FLOAT, 4, 5), Nd4j.create(DataType.FLOAT, 4, 5)));
    }
}
