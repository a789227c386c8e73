package org.dbfs.fuse;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import org.cryptomator.jfuse.api.Fuse;
import org.cryptomator.jfuse.api.FuseOperations;
import org.slf4j.LoggerFactory;

/**
 * Binds the libfuse callbacks jfuse 0.7.1 leaves empty although its FuseOperations declares them:
 * {@code mknod} (mkfifo, mknod, bind() of a Unix socket) and {@code link} (hard links). Without
 * them libfuse answers ENOSYS. Each is a native-to-Java upcall into the file system, placed in the
 * fuse_operations struct before mounting, as {@link NullPathGuard} does for its trampolines.
 */
final class UnboundCallbacks {
    /** Slots of libfuse 3's struct fuse_operations: getattr, readlink, mknod, ..., rename, link. */
    private static final int MKNOD_SLOT = 2;
    private static final int LINK_SLOT = 8;
    private static final FunctionDescriptor MKNOD = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG);
    private static final FunctionDescriptor LINK = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle CALL_MKNOD;
    private static final MethodHandle CALL_LINK;

    static {
        try {
            var lookup = MethodHandles.lookup();
            CALL_MKNOD = lookup.findStatic(UnboundCallbacks.class, "mknod",
                    MethodType.methodType(int.class, FuseOperations.class, MemorySegment.class, int.class, long.class));
            CALL_LINK = lookup.findStatic(UnboundCallbacks.class, "link",
                    MethodType.methodType(int.class, FuseOperations.class, MemorySegment.class, MemorySegment.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private UnboundCallbacks() {
    }

    /** Must run after jfuse bound the operations and before mounting (fuse_new copies the struct). */
    static void install(Fuse fuse, FuseOperations fs) {
        MemorySegment ops = NullPathGuard.operationsStruct(fuse);
        Linker linker = Linker.nativeLinker();
        ops.set(ADDRESS, MKNOD_SLOT * ADDRESS.byteSize(),
                linker.upcallStub(MethodHandles.insertArguments(CALL_MKNOD, 0, fs), MKNOD, Arena.global()));
        ops.set(ADDRESS, LINK_SLOT * ADDRESS.byteSize(),
                linker.upcallStub(MethodHandles.insertArguments(CALL_LINK, 0, fs), LINK, Arena.global()));
    }

    // An exception must not leave an upcall (the JVM would abort): it is EIO.

    private static int mknod(FuseOperations fs, MemorySegment path, int mode, long rdev) {
        try {
            return fs.mknod(string(path), (short) mode, (int) rdev);
        } catch (Throwable t) {
            LoggerFactory.getLogger(UnboundCallbacks.class).error("mknod failed", t);
            return -LinuxErrno.EIO;
        }
    }

    private static int link(FuseOperations fs, MemorySegment from, MemorySegment to) {
        try {
            return fs.link(string(from), string(to));
        } catch (Throwable t) {
            LoggerFactory.getLogger(UnboundCallbacks.class).error("link failed", t);
            return -LinuxErrno.EIO;
        }
    }

    private static String string(MemorySegment cString) {
        return cString.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
