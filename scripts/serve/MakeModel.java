import dev.resnext.backend.BackendChoice;
import dev.resnext.backend.Backends;
import dev.resnext.format.ModelMetadata;
import dev.resnext.format.ModelZip;
import dev.resnext.model.Presets;
import dev.resnext.model.ResNeXtConfig;
import dev.resnext.model.ResNeXtGraphFactory;
import dev.resnext.runtime.GraphRuntime;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Random;

/**
 * For scripts/bench-serve.sh: an untrained model zip of a preset (its default input and classes) and
 * a PNG of the model's input size (random pixels), so that the server's work per request is the
 * network plus a small decode, as in `benchmark --mode infer`.
 *   java -cp ... MakeModel.java PRESET OUT.zip OUT.png
 */
public class MakeModel {
    public static void main(String[] a) throws Exception {
        Backends.initialize(BackendChoice.CPU);
        ResNeXtConfig c = Presets.get(a[0]);
        ModelZip.save(Path.of(a[1]), GraphRuntime.create(ResNeXtGraphFactory.build(c)),
                ModelMetadata.create(c, ModelMetadata.indexLabels(c.getNumClasses()), null, null, null), null, false);
        BufferedImage img = new BufferedImage(c.getInputWidth(), c.getInputHeight(),
                c.getInputChannels() == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        Random rng = new Random(1);
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) img.setRGB(x, y, rng.nextInt(0x1000000));
        }
        ImageIO.write(img, "png", Path.of(a[2]).toFile());
    }
}
