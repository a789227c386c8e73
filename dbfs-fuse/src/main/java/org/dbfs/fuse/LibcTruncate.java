package org.dbfs.fuse;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * truncate(2) by path: grows a file with a hole, like RandomAccessFile.setLength, but never creates
 * one. The replica's overlay must not bring back a relation file PostgreSQL has unlinked because a
 * write to it was still on its way.
 */
final class LibcTruncate {
    private static final int ENOENT = 2;
    private static final StructLayout CAPTURED = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURED.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle TRUNCATE;

    static {
        Linker linker = Linker.nativeLinker();
        TRUNCATE = linker.downcallHandle(linker.defaultLookup().find("truncate").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
                Linker.Option.captureCallState("errno"));
    }

    private LibcTruncate() {}

    /** @throws NoSuchFileException if nothing is at {@code path} (nothing is created) */
    static void truncate(Path path, long size) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURED);
            int rc = (int) TRUNCATE.invokeExact(state, arena.allocateFrom(path.toString()), size);
            if (rc != 0) {
                int errno = (int) ERRNO.get(state, 0L);
                if (errno == ENOENT) {
                    throw new NoSuchFileException(path.toString());
                }
                throw new IOException("truncate(" + path + ", " + size + ") failed: errno " + errno);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("truncate failed", t);
        }
    }
}
