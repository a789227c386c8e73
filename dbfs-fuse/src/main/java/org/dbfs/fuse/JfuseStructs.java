package org.dbfs.fuse;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;

/**
 * The native struct behind one of jfuse's wrappers (FileInfo, Stat, FuseConfig): its Linux
 * implementations are records over a MemorySegment, reachable through their {@code segment()}
 * accessor, for the fields jfuse 0.7.1 has no setter for ({@link DirectIo}, {@link RawStat}).
 */
final class JfuseStructs {
    /** The accessor per implementation class; null where there is none. */
    private static final ClassValue<MethodHandle> SEGMENT = new ClassValue<>() {
        @Override
        protected MethodHandle computeValue(Class<?> type) {
            try {
                Method accessor = type.getMethod("segment");
                accessor.setAccessible(true);
                return MethodHandles.lookup().unreflect(accessor);
            } catch (ReflectiveOperationException | RuntimeException e) {
                return null;
            }
        }
    };

    private JfuseStructs() {
    }

    /** @throws IllegalStateException if this jfuse does not hand the struct out */
    static MemorySegment of(Object wrapper) {
        MethodHandle accessor = SEGMENT.get(wrapper.getClass());
        if (accessor == null) {
            throw new IllegalStateException("no segment() on " + wrapper.getClass().getName());
        }
        try {
            return (MemorySegment) accessor.invoke(wrapper);
        } catch (Throwable t) {
            throw new IllegalStateException("cannot read the native struct of " + wrapper.getClass().getName(), t);
        }
    }
}
