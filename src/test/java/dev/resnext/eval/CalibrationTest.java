package dev.resnext.eval;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CalibrationTest {

    /** Over-confident 3-class probabilities: true logits scaled by 3. */
    private static double[][] overconfident(Random r, int[] labels) {
        double[][] p = new double[labels.length][];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = r.nextInt(3);
            double[] z = new double[3];
            for (int k = 0; k < 3; k++) z[k] = r.nextGaussian() + (k == labels[i] ? 1.0 : 0);
            for (int k = 0; k < 3; k++) z[k] *= 3;
            p[i] = TemperatureScaling.softmax(expNormalised(z), 1.0);
        }
        return p;
    }

    private static double[] expNormalised(double[] z) {
        double max = Math.max(z[0], Math.max(z[1], z[2]));
        double s = 0;
        double[] e = new double[z.length];
        for (int k = 0; k < z.length; k++) { e[k] = Math.exp(z[k] - max); s += e[k]; }
        for (int k = 0; k < z.length; k++) e[k] /= s;
        return e;
    }

    @Test
    void temperatureLowersValidationNllAndKeepsTheArgMax() {
        int[] labels = new int[2000];
        double[][] p = overconfident(new Random(1), labels);
        double t = TemperatureScaling.fit(p, labels);
        assertEquals(3.0, t, 0.6);
        assertTrue(TemperatureScaling.nll(p, labels, t) < TemperatureScaling.nll(p, labels, 1.0) - 0.05);
        double[][] scaled = TemperatureScaling.apply(p, new double[] {t}, false);
        for (int i = 0; i < p.length; i++) {
            assertEquals(Inputs.argMax(p[i]), Inputs.argMax(scaled[i]));
        }
        assertTrue(CalibrationMetrics.of(scaled, labels, 15).ece() < CalibrationMetrics.of(p, labels, 15).ece());
    }

    @Test
    void perFindingTemperaturesLowerEachFindingsNll() {
        Random r = new Random(2);
        int n = 1500;
        double[][] p = new double[n][2];
        int[][] y = new int[n][2];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < 2; k++) {
                double logit = r.nextGaussian() * 2;
                y[i][k] = r.nextDouble() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
                double scale = k == 0 ? 3 : 0.5; // over- then under-confident
                p[i][k] = 1 / (1 + Math.exp(-logit * scale));
            }
        }
        double[] t = TemperatureScaling.fit(p, y);
        assertEquals(3.0, t[0], 0.5);
        assertEquals(0.5, t[1], 0.15);
        for (int k = 0; k < 2; k++) {
            assertTrue(TemperatureScaling.nll(p, y, k, t[k]) < TemperatureScaling.nll(p, y, k, 1.0));
        }
    }

    @Test
    void unitTemperatureChangesNothingAndEceOfAPerfectlyCalibratedBinIsZero() {
        double[] row = {0.2, 0.5, 0.3};
        assertArrayEquals(row, TemperatureScaling.softmax(row, 1.0), 1e-12);
        // 10 predictions at 0.7, 7 of them right: calibrated
        double[][] p = new double[10][];
        int[] y = new int[10];
        for (int i = 0; i < 10; i++) {
            p[i] = new double[] {0.3, 0.7};
            y[i] = i < 7 ? 1 : 0;
        }
        CalibrationMetrics c = CalibrationMetrics.of(p, y, 15);
        assertEquals(0.0, c.ece(), 1e-12);
        assertEquals((7 * 0.09 + 3 * 0.49) / 10, c.brier(), 1e-12);
    }
}
