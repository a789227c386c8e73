package org.dbfs.pageserver.redocheck;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.WalSource;

/**
 * A {@link WalSource} over a directory of WAL segment files (pg_wal, or a copy of it), optionally
 * cut off at an end LSN the way pg_waldump's -e does. Keeps the current segment in memory.
 */
public final class SegmentDirectorySource implements WalSource {
    private final Path dir;
    private final int timeline;
    private final int segSize;
    private final long endLsn;
    private long cachedSegNo = -1;
    private byte[] cached;

    /** @param endLsn the first LSN not to serve, or 0 for no limit */
    public SegmentDirectorySource(Path dir, int timeline, int segSize, long endLsn) {
        this.dir = dir;
        this.timeline = timeline;
        this.segSize = segSize;
        this.endLsn = endLsn;
    }

    @Override
    public int read(long lsn, byte[] dst, int off, int len) {
        if (endLsn != 0 && Long.compareUnsigned(lsn, endLsn) >= 0) {
            return 0;
        }
        long segNo = Lsn.segmentNumber(lsn, segSize);
        byte[] seg = segment(segNo);
        if (seg == null) {
            return 0;
        }
        int segOff = Lsn.segmentOffset(lsn, segSize);
        long limit = endLsn == 0 ? Long.MAX_VALUE : endLsn - lsn;
        int n = (int) Math.min(Math.min(len, seg.length - (long) segOff), limit);
        if (n <= 0) {
            return 0;
        }
        System.arraycopy(seg, segOff, dst, off, n);
        return n;
    }

    private byte[] segment(long segNo) {
        if (segNo != cachedSegNo) {
            try {
                cached = Files.readAllBytes(dir.resolve(Lsn.segmentFileName(timeline, segNo, segSize)));
            } catch (NoSuchFileException e) {
                cached = null;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            cachedSegNo = segNo;
        }
        return cached;
    }
}
