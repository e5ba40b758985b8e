package dev.resnext.data;

import dev.resnext.model.InputShape;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** A failure in the batch-loading thread reaches the training loop instead of leaving it waiting. */
class BatchesFaultTest {

    static ImageSet failing(Throwable t) {
        return new ImageSet() {
            @Override public int size() { return 8; }
            @Override public int label(int i) { return i % 2; }
            @Override public List<String> classNames() { return List.of("a", "b"); }
            @Override public String describe(int i) { return "img" + i; }
            @Override public DecodedImage decode(int i) {
                if (t instanceof Error e) throw e;
                throw (RuntimeException) t;
            }
            @Override public String name() { return "failing"; }
        };
    }

    @Test
    void anOutOfMemoryErrorWhileLoadingABatchIsRethrownNotAHang() {
        Batches b = Batches.inOrder(new PreparedImages(failing(new OutOfMemoryError("Java heap space")),
                new InputShape(8, 8, 1)), 4, 2, null);
        OutOfMemoryError e = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertThrows(
                OutOfMemoryError.class, () -> {
                    for (DataSet ignored : b) {
                        fail("no batch expected");
                    }
                }));
        assertEquals("Java heap space", e.getMessage());
    }

    @Test
    void aDecodingErrorIsRethrownWithItsMessage() {
        Batches b = Batches.inOrder(new PreparedImages(failing(new dev.resnext.ResNeXtException("cannot read image x")),
                new InputShape(8, 8, 1)), 4, 2, null);
        var e = assertThrows(dev.resnext.ResNeXtException.class, () -> b.iterator().next());
        assertEquals("cannot read image x", e.getMessage());
    }
}
