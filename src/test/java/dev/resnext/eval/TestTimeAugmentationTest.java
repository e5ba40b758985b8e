package dev.resnext.eval;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class TestTimeAugmentationTest {
    @Test
    void viewsAreIdentityFirstThenMirrorAndShifts() {
        INDArray x = Nd4j.rand(new long[] {2, 1, 28, 28});
        assertSame(x, TestTimeAugmentation.NONE.views(x).get(0));
        assertEquals(1, TestTimeAugmentation.parse("none").views(x).size());
        var views = TestTimeAugmentation.parse("flip,shift").views(x);
        assertEquals(6, views.size());
        assertEquals(x, TestTimeAugmentation.mirrored(views.get(1)), "mirrored twice is the image");
        assertEquals(x.getDouble(0, 0, 5, 27), views.get(1).getDouble(0, 0, 5, 0), 0);
        // shifted right by 2: column 10 shows what column 8 showed; the left edge repeats column 0
        assertEquals(x.getDouble(1, 0, 3, 8), views.get(2).getDouble(1, 0, 3, 10), 0);
        assertEquals(x.getDouble(1, 0, 3, 0), views.get(2).getDouble(1, 0, 3, 1), 0);
        assertEquals(x, TestTimeAugmentation.shifted(x, 0, 0));
    }
}
