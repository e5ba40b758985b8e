package dev.resnext.backend;

import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shared plumbing for calling oneDNN (JavaCPP's {@code dnnl} preset) on ND4J arrays: loading, the
 * CPU engine, one stream per thread, and binding an array's memory to a oneDNN memory object
 * without copying. See {@link OneDnnGroupedConvolution} and {@link OneDnnBatchNormHelper}.
 */
public final class OneDnn {
    private static final Logger log = LoggerFactory.getLogger(OneDnn.class);


    private static volatile Boolean loaded;
    private static engine cpuEngine;
    private static final ThreadLocal<stream> STREAMS = new ThreadLocal<>();

    private OneDnn() {
    }

    /**
     * Whether oneDNN loaded and is not switched off with resnext.onednn=false (RuntimeSettings). The first
     * call loads the native library (a few hundred ms); a failure is logged once and remembered.
     */
    public static boolean available() {
        Boolean l = loaded;
        if (l == null) {
            synchronized (OneDnn.class) {
                l = loaded;
                if (l == null) {
                    l = load();
                    loaded = l;
                }
            }
        }
        return l && dev.resnext.RuntimeSettings.current().oneDnn();
    }


    private static boolean load() {
        try {
            cpuEngine = new engine(engine.kind.cpu, 0);
            cpuEngine.retainReference();
            return true;
        } catch (Throwable t) {
            log.info("oneDNN (JavaCPP dnnl) not available, DL4J's own layers run instead: {}", t.toString());
            return false;
        }
    }

    public static engine engine() {
        if (!available()) {
            throw new IllegalStateException("oneDNN is not available");
        }
        return cpuEngine;
    }

    /** This thread's stream. */
    public static stream stream() {
        stream s = STREAMS.get();
        if (s == null) {
            s = new stream(engine());
            s.retainReference();
            STREAMS.set(s);
        }
        return s;
    }

    /**
     * Keeps a native object alive past the {@code PointerScope} it was created in (for primitives and
     * descriptors cached for a thread's lifetime).
     */
    public static <P extends Pointer> P keep(P p) {
        p.retainReference();
        return p;
    }

    /** A dense row-major float32 descriptor of rank 1 or 2 (oneDNN's "a" or "ab"). */
    public static memory.desc plain(long... dims) {
        return new memory.desc(dims, memory.data_type.f32, dims.length == 1 ? memory.format_tag.a
                : memory.format_tag.ab);
    }

    private static volatile String cpuInfo;

    /** Whether /proc/cpuinfo names {@code flag} (false where it cannot be read), read once. */
    public static boolean cpuHas(String flag) {
        String info = cpuInfo;
        if (info == null) {
            try {
                info = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/cpuinfo"));
            } catch (java.io.IOException | RuntimeException e) {
                info = "";
            }
            cpuInfo = info;
        }
        return info.contains(flag);
    }

    /** Whether ND4J runs on its CPU backend (the only one these oneDNN paths serve). */
    public static boolean isCpuBackend() {
        return "CPU".equalsIgnoreCase(String.valueOf(
                Nd4j.getExecutioner().getEnvironmentInformation().getProperty("backend")));
    }

    /** A oneDNN memory object over an ND4J array's data (no copy). */
    public static memory bind(memory.desc desc, INDArray a) {
        return new memory(desc, engine(), pointer(a));
    }

    /**
     * A void* to an array's first element (JavaCPP adds a plain Pointer's position in bytes). In
     * ND4J M2.1 a view's offset lives in its own DataBuffer, whose address already includes it
     * ({@code INDArray.offset()} is that same offset, not to be added again).
     */
    public static Pointer pointer(INDArray a) {
        Pointer base = a.data().addressPointer();
        return new Pointer(base).position(base.position() * base.sizeof());
    }

    /** Native address of an array's first element (see {@link #pointer(INDArray)}). */
    public static long addressOf(INDArray a) {
        return bufferAddress(a.data());
    }

    private static long bufferAddress(DataBuffer b) {
        Pointer p = b.addressPointer();
        return p.address() + p.position() * p.sizeof();
    }

    /**
     * A c-order array of {@code shape} starting at {@code first}'s first element and extending past
     * it in the same buffer (e.g. several parameter arrays that follow each other), or null when the
     * buffer is too short. Views of views may carry their own DataBuffer, so this builds on the root.
     */
    public static INDArray viewAt(INDArray first, long[] shape) {
        DataBuffer root = first.data().originalDataBuffer() != null ? first.data().originalDataBuffer() : first.data();
        long offset = (addressOf(first) - bufferAddress(root)) / first.data().getElementSize();
        long length = 1;
        for (long s : shape) {
            length *= s;
        }
        if (offset < 0 || offset + length > root.length()) {
            return null;
        }
        return Nd4j.create(root, shape, Nd4j.getStrides(shape, 'c'), offset, 'c', first.dataType());
    }

    /**
     * Whether the array's elements are laid out densely in c order (a view with an offset is fine);
     * strides of size-1 dimensions do not matter.
     */
    public static boolean isDense(INDArray a) {
        long[] shape = a.shape();
        long[] stride = a.stride();
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }
}
