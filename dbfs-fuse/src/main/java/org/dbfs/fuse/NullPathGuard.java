package org.dbfs.fuse;

import org.cryptomator.jfuse.api.Fuse;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Keeps libfuse's NULL paths away from jfuse. For an open file whose path can no longer be built
 * (it was unlinked and its directory removed, as DROP DATABASE does while other backends still hold
 * the files), libfuse calls read/write/flush/release/... with path NULL, and jfuse 0.7.1 reads that
 * as a C string: the JVM dies with SIGSEGV. This puts a small native-to-native trampoline in front
 * of those callbacks in the fuse_operations struct that replaces NULL with "", which
 * {@link DbfsFileSystem} reads as "no path, use the file handle".
 */
final class NullPathGuard {

    /** A slot of libfuse 3's struct fuse_operations (pointer index) and its C signature. */
    private record Slot(String name, int index, FunctionDescriptor descriptor) {
    }

    private static final MemoryLayout A = ADDRESS;
    private static final MemoryLayout INT = JAVA_INT;
    private static final MemoryLayout LONG = JAVA_LONG; // size_t, off_t

    /** The callbacks libfuse calls through get_path_nullok(), that is, possibly with a NULL path. */
    private static final Slot[] SLOTS = {
            new Slot("getattr", 0, FunctionDescriptor.of(JAVA_INT, A, A, A)),
            new Slot("chmod", 9, FunctionDescriptor.of(JAVA_INT, A, INT, A)),
            new Slot("chown", 10, FunctionDescriptor.of(JAVA_INT, A, INT, INT, A)),
            new Slot("truncate", 11, FunctionDescriptor.of(JAVA_INT, A, LONG, A)),
            new Slot("read", 13, FunctionDescriptor.of(JAVA_INT, A, A, LONG, LONG, A)),
            new Slot("write", 14, FunctionDescriptor.of(JAVA_INT, A, A, LONG, LONG, A)),
            new Slot("flush", 16, FunctionDescriptor.of(JAVA_INT, A, A)),
            new Slot("release", 17, FunctionDescriptor.of(JAVA_INT, A, A)),
            new Slot("fsync", 18, FunctionDescriptor.of(JAVA_INT, A, INT, A)),
            new Slot("readdir", 24, FunctionDescriptor.of(JAVA_INT, A, A, A, LONG, A, INT)),
            new Slot("utimens", 32, FunctionDescriptor.of(JAVA_INT, A, A, A)),
    };

    /** Lives as long as the process: libfuse may call a trampoline until the very end. */
    private static final Arena ARENA = Arena.global();
    private static final MemorySegment EMPTY_PATH = ARENA.allocateFrom("");
    private static final MethodHandle NON_NULL;

    static {
        try {
            NON_NULL = MethodHandles.lookup().findStatic(NullPathGuard.class, "nonNull",
                    MethodType.methodType(MemorySegment.class, MemorySegment.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private NullPathGuard() {
    }

    /** Must run after jfuse bound the operations and before mounting (fuse_new copies the struct). */
    static void install(Fuse fuse) {
        MemorySegment ops = operationsStruct(fuse);
        Linker linker = Linker.nativeLinker();
        for (Slot slot : SLOTS) {
            long offset = slot.index() * ADDRESS.byteSize();
            MemorySegment original = ops.get(ADDRESS, offset);
            if (original.address() == 0) {
                continue; // not implemented: libfuse answers ENOSYS itself
            }
            MethodHandle call = linker.downcallHandle(original, slot.descriptor());
            MethodHandle guarded = MethodHandles.filterArguments(call, 0, NON_NULL);
            ops.set(ADDRESS, offset, linker.upcallStub(guarded, slot.descriptor(), ARENA));
        }
    }

    private static MemorySegment nonNull(MemorySegment path) {
        return path.address() == 0 ? EMPTY_PATH : path;
    }

    /** jfuse keeps the struct in a protected field; there is no public accessor. */
    static MemorySegment operationsStruct(Fuse fuse) {
        try {
            var field = Fuse.class.getDeclaredField("fuseOperationsStruct");
            field.setAccessible(true);
            return (MemorySegment) field.get(fuse);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("cannot reach jfuse's fuse_operations struct (jfuse version changed?)", e);
        }
    }
}
