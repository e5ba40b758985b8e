package dev.resnext.backend;

import org.bytedeco.javacpp.Pointer;

import java.util.ArrayList;
import java.util.List;

/**
 * Native objects (primitives, descriptors, memories) kept alive past the {@code PointerScope}
 * they were made in, and released together: what a compiled plan owns.
 */
public final class KeptNatives implements AutoCloseable {
    private final List<Pointer> kept = new ArrayList<>();

    /** Keeps {@code p} until {@link #close}; returns it. */
    public <P extends Pointer> P keep(P p) {
        OneDnn.keep(p);
        kept.add(p);
        return p;
    }

    @Override
    public void close() {
        for (Pointer p : kept) {
            p.releaseReference();
        }
        kept.clear();
    }
}
