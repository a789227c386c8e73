package org.dbfs.walservice.wal;

import org.dbfs.pgformat.wal.Lsn;

/**
 * The segment arithmetic of {@link Lsn} (WAL-SPEC 1.1) bound to one WAL segment size: which segment
 * holds an LSN, where it starts, and PostgreSQL's file name for it. The arithmetic itself lives
 * only in {@link Lsn}.
 */
public record WalSegments(int segmentSize) {

    public WalSegments {
        if (!Lsn.isValidSegSize(segmentSize)) {
            throw new IllegalArgumentException("wal_segment_size must be a power of two from 1 MiB to 1 GiB: wal_segment_size="
                    + segmentSize);
        }
    }

    public long segmentNumber(long lsn) {
        return Lsn.segmentNumber(lsn, segmentSize);
    }

    public int offsetInSegment(long lsn) {
        return Lsn.segmentOffset(lsn, segmentSize);
    }

    public long segmentStart(long lsn) {
        return Lsn.segmentStart(segmentNumber(lsn), segmentSize);
    }

    /** The first LSN of the segment after the one holding {@code lsn}. */
    public long nextSegmentStart(long lsn) {
        return segmentStart(lsn) + segmentSize;
    }

    /** PostgreSQL's name for the segment (XLogFileName). */
    public String fileName(int timeline, long segno) {
        return Lsn.segmentFileName(timeline, segno, segmentSize);
    }

    /** The segment number a {@link #fileName} names (XLogFromFileName; the timeline part is not checked). */
    public long segmentNumber(String fileName) {
        return Lsn.segmentNumberOfFileName(fileName, segmentSize);
    }

    public String fileNameFor(int timeline, long lsn) {
        return fileName(timeline, segmentNumber(lsn));
    }
}
