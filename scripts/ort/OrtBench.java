import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * ONNX Runtime (Java, CPU, all graph optimisations) on an .onnx model: images/s and latency, as a
 * column of scripts/bench-vs-pytorch.sh. Not part of the product: run as a single-file program with
 * the onnxruntime jar on the class path.
 * Usage: java -cp onnxruntime.jar OrtBench.java MODEL.onnx BATCH ITERS WARMUP THREADS SIZE
 */
public class OrtBench {
    public static void main(String[] args) throws Exception {
        String model = args[0];
        int batch = Integer.parseInt(args[1]);
        int iters = Integer.parseInt(args[2]);
        int warmup = Integer.parseInt(args[3]);
        int threads = Integer.parseInt(args[4]);
        int size = Integer.parseInt(args[5]);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        opts.setIntraOpNumThreads(threads);
        opts.setInterOpNumThreads(1);
        try (OrtSession session = env.createSession(model, opts)) {
            String input = session.getInputNames().iterator().next();
            float[] data = new float[batch * 3 * size * size];
            Random r = new Random(123);
            for (int i = 0; i < data.length; i++) {
                data[i] = (float) r.nextGaussian();
            }
            long[] shape = {batch, 3, size, size};
            List<Double> times = new ArrayList<>();
            for (int i = 0; i < warmup + iters; i++) {
                try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape)) {
                    long t0 = System.nanoTime();
                    try (OrtSession.Result res = session.run(Map.of(input, t))) {
                        res.get(0);
                    }
                    double s = (System.nanoTime() - t0) / 1e9;
                    if (i >= warmup) {
                        times.add(s);
                    }
                }
            }
            List<Double> sorted = new ArrayList<>(times);
            Collections.sort(sorted);
            double median = q(sorted, 0.5);
            System.out.printf(Locale.ROOT, "{\"img_per_s_median\": %.3f, \"img_per_s_best\": %.3f, "
                            + "\"img_per_s_worst\": %.3f, \"median_s\": %.4f, \"p50_ms\": %.2f, \"p90_ms\": %.2f, "
                            + "\"p99_ms\": %.2f, \"peak_rss_mb\": %.0f, \"iters\": %d, \"threads\": %d}%n",
                    batch / median, batch / sorted.get(0), batch / sorted.get(sorted.size() - 1), median,
                    q(sorted, 0.5) * 1000, q(sorted, 0.9) * 1000, q(sorted, 0.99) * 1000, peakRssMb(), iters, threads);
        }
    }

    private static double q(List<Double> s, double q) {
        double pos = q * (s.size() - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(s.size() - 1, lo + 1);
        return s.get(lo) + (pos - lo) * (s.get(hi) - s.get(lo));
    }

    private static double peakRssMb() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return -1;
    }
}
