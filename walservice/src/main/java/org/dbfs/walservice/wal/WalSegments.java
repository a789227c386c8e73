package org.dbfs.walservice.wal;

/**
 * Segment arithmetic for one WAL segment size (WAL-SPEC 1.1): which segment holds an LSN, where it
 * starts, and PostgreSQL's file name for it.
 */
public record WalSegments(int segmentSize) {
    public static final int MIN_SEGMENT_SIZE = 1 << 20;
    public static final int MAX_SEGMENT_SIZE = 1 << 30;

    public WalSegments {
        if (segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE || Integer.bitCount(segmentSize) != 1) {
            throw new IllegalArgumentException("wal_segment_size must be a power of two from 1 MiB to 1 GiB: wal_segment_size="
                    + segmentSize);
        }
    }

    public long segmentNumber(long lsn) {
        return Long.divideUnsigned(lsn, segmentSize);
    }

    public int offsetInSegment(long lsn) {
        return (int) (lsn & (segmentSize - 1));
    }

    public long segmentStart(long lsn) {
        return lsn & ~(long) (segmentSize - 1);
    }

    /** The first LSN of the segment after the one holding {@code lsn}. */
    public long nextSegmentStart(long lsn) {
        return segmentStart(lsn) + segmentSize;
    }

    /** PostgreSQL's name for the segment: {@code %08X%08X%08X} of TLI, segno / per-xlogid, segno % per-xlogid. */
    public String fileName(int timeline, long segno) {
        long perXlogId = 0x100000000L / segmentSize;
        return String.format("%08X%08X%08X", timeline, segno / perXlogId, segno % perXlogId);
    }

    /** The segment number a {@link #fileName} names (the timeline part is not checked). */
    public long segmentNumber(String fileName) {
        long perXlogId = 0x100000000L / segmentSize;
        return Long.parseLong(fileName.substring(8, 16), 16) * perXlogId + Long.parseLong(fileName.substring(16, 24), 16);
    }

    public String fileNameFor(int timeline, long lsn) {
        return fileName(timeline, segmentNumber(lsn));
    }
}
