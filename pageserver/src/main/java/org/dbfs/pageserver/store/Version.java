package org.dbfs.pageserver.store;

/**
 * One stored version of a block: its data is either still in memory (journaled, not yet packed)
 * or a frame in a segment object. A tombstone says the block reads as absent from {@code seq} on.
 *
 * @param lsn     the page's pd_lsn (0 for file blocks; {@link #NO_LSN} for tombstones, so that
 *                reads "as of an LSN" never pick them)
 * @param seq     the journal sequence number of the write
 * @param data    the block's bytes while unpacked, else null
 * @param segment the segment id when packed, else -1
 */
public record Version(long lsn, long seq, byte[] data, int segment, long offset, int length, boolean tombstone) {

    public static final long NO_LSN = -1L; // compares above every real LSN when unsigned

    public static Version inMemory(long lsn, long seq, byte[] data) {
        return new Version(lsn, seq, data, -1, 0, 0, false);
    }

    public static Version tombstone(long seq) {
        return new Version(NO_LSN, seq, null, -1, 0, 0, true);
    }

    public static Version packed(long lsn, long seq, int segment, long offset, int length) {
        return new Version(lsn, seq, null, segment, offset, length, false);
    }

    public boolean isUnpacked() {
        return data != null || (tombstone && segment < 0);
    }

    public Version movedTo(int segmentId, long frameOffset, int frameLength) {
        return tombstone ? new Version(lsn, seq, null, segmentId, 0, 0, true)
                : new Version(lsn, seq, null, segmentId, frameOffset, frameLength, false);
    }
}
