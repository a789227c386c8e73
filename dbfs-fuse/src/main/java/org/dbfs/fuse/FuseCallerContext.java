package org.dbfs.fuse;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * Who is calling: libfuse's fuse_get_context(), which jfuse 0.7.1 does not expose. The context is
 * thread-local to the libfuse worker thread that runs the operation, so this must be called from
 * inside a FuseOperations callback.
 *
 * <pre>
 * struct fuse_context { struct fuse *fuse; uid_t uid; gid_t gid; pid_t pid; void *private_data; mode_t umask; };
 * </pre>
 */
final class FuseCallerContext {

    /** The caller of the current operation. */
    record Caller(int uid, int gid, int pid) {
    }

    private static final long UID_OFFSET = 8;
    private static final long GID_OFFSET = 12;
    private static final long PID_OFFSET = 16;
    private static final long STRUCT_SIZE = 40;

    private final MethodHandle fuseGetContext;

    FuseCallerContext(Path libfuse) {
        fuseGetContext = LibFuse.function(libfuse, "fuse_get_context", FunctionDescriptor.of(ValueLayout.ADDRESS));
    }

    Caller current() {
        MemorySegment c = context();
        return new Caller(c.get(ValueLayout.JAVA_INT, UID_OFFSET), c.get(ValueLayout.JAVA_INT, GID_OFFSET),
                c.get(ValueLayout.JAVA_INT, PID_OFFSET));
    }

    /** libfuse's handle of this mount (the context's first field), which its notification calls take. */
    MemorySegment fuse() {
        return context().get(ValueLayout.ADDRESS, 0);
    }

    private MemorySegment context() {
        MemorySegment ctx;
        try {
            ctx = (MemorySegment) fuseGetContext.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("fuse_get_context failed", t);
        }
        if (ctx.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("no FUSE context on this thread");
        }
        return ctx.reinterpret(STRUCT_SIZE);
    }
}
