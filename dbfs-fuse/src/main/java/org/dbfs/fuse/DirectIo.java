package org.dbfs.fuse;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;
import org.cryptomator.jfuse.api.FileInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
    private static final Logger log = LoggerFactory.getLogger(DirectIo.class);

    private static final long BITS_OFFSET = 4;
    private static final int DIRECT_IO = 1 << 1;
    private static final AtomicBoolean warned = new AtomicBoolean();

    private DirectIo() {
    }

    /**
     * @return false if this jfuse does not hand out the native struct; the open then goes through
     *         the page cache, where O_DSYNC still holds (the kernel fsyncs after each write)
     */
    static boolean enable(FileInfo fi) {
        try {
            MemorySegment info = JfuseStructs.of(fi).reinterpret(BITS_OFFSET + Integer.BYTES);
            int bits = info.get(ValueLayout.JAVA_INT_UNALIGNED, BITS_OFFSET);
            info.set(ValueLayout.JAVA_INT_UNALIGNED, BITS_OFFSET, bits | DIRECT_IO);
            return true;
        } catch (RuntimeException e) {
            if (warned.compareAndSet(false, true)) {
                log.warn("cannot set direct_io on O_DSYNC opens with this jfuse ({}); they go through the page cache,"
                        + " two FUSE requests per write instead of one", e.toString());
            }
            return false;
        }
    }
}
