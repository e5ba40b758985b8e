package dev.resnext.backend;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What ND4J runs on: backend, BLAS, threads, whether the runtime's oneDNN kernels are in use, and device.
 *
 * @param backend        "CPU" or "CUDA"
 * @param blasVendor     BLAS library in use (OPENBLAS, MKL, CUBLAS...)
 * @param threads        OpenMP threads of the native backend
 * @param nativeBuild    native build classifier (e.g. linux-x86_64-onednn) where known
 * @param oneDnnKernels  whether the runtime's oneDNN kernels are in use (CPU)
 * @param cudnnHelpers   whether DL4J's cuDNN helpers are allowed (CUDA)
 * @param device         device description: the GPU name and memory on CUDA, the CPU otherwise
 */
public record BackendInfo(String backend, String blasVendor, int threads, String nativeBuild,
                          boolean oneDnnKernels, boolean cudnnHelpers, String device) {

    /** One log line. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append("backend ").append(backend).append(" (").append(nativeBuild).append("), BLAS ").append(blasVendor)
                .append(", ").append(threads).append(" threads, ");
        if ("CUDA".equals(backend)) {
            sb.append("cuDNN helpers ").append(cudnnHelpers ? "on" : "off");
        } else {
            sb.append("oneDNN kernels ").append(oneDnnKernels ? "on" : "OFF");
        }
        sb.append(", device ").append(device);
        return sb.toString();
    }

    /** Ordered map for JSON output. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("backend", backend);
        m.put("nativeBuild", nativeBuild);
        m.put("blasVendor", blasVendor);
        m.put("threads", threads);
        m.put("oneDnnKernels", oneDnnKernels);
        m.put("cudnnHelpers", cudnnHelpers);
        m.put("device", device);
        return m;
    }
}
