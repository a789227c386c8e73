package org.dbfs.fuse;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * The kernel's node id of a directory of this mount, by which libfuse's low-level notifications
 * name it. libfuse's high-level API keeps its node ids to itself, but the kernel hands them out as
 * file handles (name_to_handle_at(2)): FUSE encodes one as the 64-bit node id, high half first,
 * then the generation, of type FILEID_INO64_GEN. A handle of another shape is not used.
 *
 * <p>The lookup walks the path through the mount, so it must not run inside a FUSE operation.
 */
final class FuseNodeIds {

    private static final int AT_FDCWD = -100;
    private static final int FILEID_INO64_GEN = 0x81;
    private static final int FUSE_HANDLE_BYTES = 12;
    /** struct file_handle { unsigned int handle_bytes; int handle_type; unsigned char f_handle[]; } */
    private static final long HANDLE_HEADER = 8;
    private static final int MAX_HANDLE_BYTES = 128;
    /** int name_to_handle_at(int dirfd, const char *path, struct file_handle *handle, int *mount_id, int flags); null if libc lacks it */
    private static final MethodHandle NAME_TO_HANDLE_AT = Linker.nativeLinker().defaultLookup().find("name_to_handle_at")
            .map(f -> Linker.nativeLinker().downcallHandle(f, FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT)))
            .orElse(null);

    private final String mountPoint;

    FuseNodeIds(Path mountPoint) {
        this.mountPoint = mountPoint.toString();
    }

    /** @param dir a directory of the mount as libfuse names it ("" or "/" for the root) */
    OptionalLong of(String dir, Arena arena) {
        if (NAME_TO_HANDLE_AT == null) {
            return OptionalLong.empty();
        }
        MemorySegment handle = arena.allocate(HANDLE_HEADER + MAX_HANDLE_BYTES, Integer.BYTES);
        handle.set(JAVA_INT, 0, MAX_HANDLE_BYTES);
        int result;
        try {
            result = (int) NAME_TO_HANDLE_AT.invokeExact(AT_FDCWD, arena.allocateFrom(mountPoint + dir), handle,
                    arena.allocate(JAVA_INT), 0);
        } catch (Throwable t) {
            return OptionalLong.empty();
        }
        if (result != 0 || handle.get(JAVA_INT, 0) != FUSE_HANDLE_BYTES || handle.get(JAVA_INT, 4) != FILEID_INO64_GEN) {
            return OptionalLong.empty(); // gone, or not this mount's (it was unmounted under us)
        }
        long high = Integer.toUnsignedLong(handle.get(JAVA_INT, HANDLE_HEADER));
        long low = Integer.toUnsignedLong(handle.get(JAVA_INT, HANDLE_HEADER + 4));
        return OptionalLong.of(high << 32 | low);
    }
}
