package dev.resnext.cli;

import dev.resnext.transfer.FinetuneDefaults;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@code finetune} takes the chosen transfer recipe for every option not given, and the given ones as given. */
class FinetuneRecipeTest {
    private static FinetuneCommand parse(String... args) {
        FinetuneCommand cmd = new FinetuneCommand();
        new CommandLine(cmd).parseArgs(args);
        cmd.applyRecipe(FinetuneDefaults.CHOSEN);
        return cmd;
    }

    @Test
    void defaultsAreTheChosenRecipe() {
        FinetuneCommand cmd = parse("--from", "a.zip", "--data", "x.npz");
        FinetuneDefaults d = FinetuneDefaults.CHOSEN;
        assertEquals(d.epochs(), cmd.training.epochs);
        assertEquals(d.batch(), cmd.training.batch);
        assertEquals(d.monitor(), cmd.training.monitor);
        assertEquals(d.classWeights(), cmd.training.classWeights);
        assertEquals(d.augment(), cmd.training.augment);
        assertEquals(d.backboneLrFactor(), cmd.backboneLrFactor);
        assertEquals(d.twoPhaseEpochs() == 0 ? null : d.twoPhaseEpochs(), cmd.twoPhase);
    }

    @Test
    void givenOptionsWin() {
        FinetuneCommand cmd = parse("--from", "a.zip", "--data", "x.npz", "--epochs", "3", "--batch", "8",
                "--monitor", "val_loss", "--class-weights", "none", "--augment", "none", "--backbone-lr-factor", "0.1");
        assertEquals(3, cmd.training.epochs);
        assertEquals(8, cmd.training.batch);
        assertEquals("val_loss", cmd.training.monitor);
        assertEquals("none", cmd.training.classWeights);
        assertEquals("none", cmd.training.augment);
        assertEquals(0.1, cmd.backboneLrFactor);
    }

    @Test
    void multiLabelTasksGetNoClassWeights() {
        assertEquals("none", parse("--from", "a.zip", "--data", "imgs", "--labels-csv", "l.csv").training.classWeights);
    }
}
