package org.dbfs.fuse;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Method;
import org.cryptomator.jfuse.api.FileInfo;

/**
 * Sets libfuse's {@code direct_io} flag on an open, which jfuse 0.7.1 does not expose: the kernel
 * then sends each write(2) on that file descriptor straight to the mount instead of through its
 * page cache.
 *
 * <pre>
 * struct fuse_file_info { int32_t flags; uint32_t writepage:1, direct_io:1, keep_cache:1, ...; uint64_t fh; ... };
 * </pre>
 * GCC allocates bit-fields from the least significant bit on x86-64 and aarch64, so direct_io is
 * bit 1 of the 32-bit word at offset 4.
 */
final class DirectIo {

    private static final long BITS_OFFSET = 4;
    private static final int DIRECT_IO = 1 << 1;

    private DirectIo() {
    }

    /** @throws IllegalStateException if this jfuse does not hand out the native struct */
    static void enable(FileInfo fi) {
        MemorySegment info = segment(fi);
        int bits = info.get(ValueLayout.JAVA_INT_UNALIGNED, BITS_OFFSET);
        info.set(ValueLayout.JAVA_INT_UNALIGNED, BITS_OFFSET, bits | DIRECT_IO);
    }

    private static MemorySegment segment(FileInfo fi) {
        try {
            Method accessor = fi.getClass().getMethod("segment");
            accessor.setAccessible(true);
            return ((MemorySegment) accessor.invoke(fi)).reinterpret(BITS_OFFSET + Integer.BYTES);
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new IllegalStateException("jfuse's FileInfo (" + fi.getClass().getName()
                    + ") does not expose struct fuse_file_info", e);
        }
    }
}
