package org.dbfs.pageserver.store;

/**
 * One stored version of a block: its data is either in the journal (not yet packed; read back from
 * there, or from the page store's cache of recent writes) or a frame in a segment object. A
 * tombstone says the block reads as absent from {@code seq} on.
 *
 * @param lsn      the page's pd_lsn (0 for file blocks; {@link #NO_LSN} for tombstones, so that
 *                 reads "as of an LSN" never pick them)
 * @param seq      the journal sequence number of the write
 * @param unpacked where the data is in the journal while unpacked, else null
 * @param segment  the segment id when packed, else -1
 * @param length   the frame's length when packed; the data's length while unpacked
 */
public record Version(long lsn, long seq, JournalSlot unpacked, int segment, long offset, int length, boolean tombstone) {

    public static final long NO_LSN = -1L; // compares above every real LSN when unsigned

    public static Version inJournal(long lsn, long seq, JournalSlot slot, int length) {
        return new Version(lsn, seq, slot, -1, 0, length, false);
    }

    public static Version tombstone(long seq) {
        return new Version(NO_LSN, seq, null, -1, 0, 0, true);
    }

    public static Version packed(long lsn, long seq, int segment, long offset, int length) {
        return new Version(lsn, seq, null, segment, offset, length, false);
    }

    public boolean isUnpacked() {
        return unpacked != null || (tombstone && segment < 0);
    }

    /** Bytes of data waiting to be packed (what {@code --max-journal} counts). */
    public int unpackedBytes() {
        return unpacked == null ? 0 : length;
    }

    public Version movedTo(int segmentId, long frameOffset, int frameLength) {
        return tombstone ? new Version(lsn, seq, null, segmentId, 0, 0, true)
                : new Version(lsn, seq, null, segmentId, frameOffset, frameLength, false);
    }
}
