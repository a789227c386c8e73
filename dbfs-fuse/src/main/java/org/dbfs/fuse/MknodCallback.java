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
 * Binds libfuse's {@code mknod} callback, which jfuse 0.7.1 leaves empty (ENOSYS for mkfifo,
 * mknod and bind() of a Unix socket): a native-to-Java upcall into the file system's
 * {@link FuseOperations#mknod}, placed in the fuse_operations struct before mounting, as
 * {@link NullPathGuard} does for its trampolines.
 */
final class MknodCallback {
    /** libfuse 3's struct fuse_operations: getattr, readlink, mknod, ... */
    private static final int MKNOD_SLOT = 2;
    private static final FunctionDescriptor MKNOD = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG);
    private static final MethodHandle CALL;

    static {
        try {
            CALL = MethodHandles.lookup().findStatic(MknodCallback.class, "call",
                    MethodType.methodType(int.class, FuseOperations.class, MemorySegment.class, int.class, long.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private MknodCallback() {
    }

    /** Must run after jfuse bound the operations and before mounting (fuse_new copies the struct). */
    static void install(Fuse fuse, FuseOperations fs) {
        MemorySegment ops = NullPathGuard.operationsStruct(fuse);
        MethodHandle bound = MethodHandles.insertArguments(CALL, 0, fs);
        ops.set(ADDRESS, MKNOD_SLOT * ADDRESS.byteSize(), Linker.nativeLinker().upcallStub(bound, MKNOD, Arena.global()));
    }

    /** An exception must not leave an upcall (the JVM would abort): it is EIO. */
    private static int call(FuseOperations fs, MemorySegment path, int mode, long rdev) {
        try {
            return fs.mknod(path.reinterpret(Long.MAX_VALUE).getString(0), (short) mode, (int) rdev);
        } catch (Throwable t) {
            LoggerFactory.getLogger(MknodCallback.class).error("mknod failed", t);
            return -LinuxErrno.EIO;
        }
    }
}
