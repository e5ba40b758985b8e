package org.nd4j.nativeblas;

import java.lang.reflect.Method;

/**
 * Compatibility shim for DL4J 1.0.0-M2.1's oneDNN layer helpers.
 *
 * <p>{@code BaseMKLDNNHelper.mklDnnEnabled()} looks up {@code org.nd4j.nativeblas.Nd4jCpu$Environment}
 * and calls {@code isUseMKLDNN()}, but M2.1 moved that class to
 * {@code org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment} and renamed the method
 * {@code isUseONEDNN()}. Without this shim the lookup fails and every oneDNN helper is dropped
 * silently. Reflection keeps this class loadable when only the CUDA backend is present.
 */
public final class Nd4jCpu {
    private Nd4jCpu() {
    }

    /** Delegates to the relocated native environment. */
    public static final class Environment {
        private static final Environment INSTANCE = new Environment();
        private final Object delegate;
        private final Method isUseOneDnn;

        private Environment() {
            try {
                Class<?> env = Class.forName("org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment");
                this.delegate = env.getMethod("getInstance").invoke(null);
                this.isUseOneDnn = env.getMethod("isUseONEDNN");
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("ND4J CPU backend environment not available", e);
            }
        }

        public static Environment getInstance() {
            return INSTANCE;
        }

        /** Whether libnd4j was built with oneDNN and uses it. */
        public boolean isUseMKLDNN() {
            try {
                return (Boolean) isUseOneDnn.invoke(delegate);
            } catch (ReflectiveOperationException e) {
                return false;
            }
        }
    }
}
