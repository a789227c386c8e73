package org.dbfs.walservice.index;

import java.util.List;
import org.dbfs.pgformat.wal.WalSource;

/**
 * The seam between durable WAL and the index: a cursor over the WAL records from one position on
 * that hands out their page references a batch at a time. {@link DecodingRecordIndexer} (pgformat's
 * decoder) is the implementation; the index and its stage never parse WAL themselves.
 *
 * <p>Contract: each {@link #next} continues exactly where the previous batch's
 * {@link Batch#continueAt()} says, a record boundary (EndRecPtr), so "every record that starts
 * below continueAt is in this or an earlier batch" holds batch by batch. A record only partly
 * durable is not returned; it comes in a later batch once its bytes are there. Malformed WAL ends
 * the cursor with a {@link CorruptWalException}. Not thread-safe: one stage thread owns it.
 */
public interface RecordIndexer {

    /** Decodes records until {@code maxRefs} page references are gathered or the durable WAL is used up. */
    Batch next(int maxRefs);

    /**
     * @param refs       the page references of every record in the batch, in LSN order
     * @param continueAt the EndRecPtr of the batch's last record (or the start, if none): where the next batch begins
     * @param records    how many records the batch decoded (records without block references count too)
     * @param caughtUp   the batch ended because the source had no more bytes, not because it was full
     */
    record Batch(List<PageRef> refs, long continueAt, int records, boolean caughtUp) {}

    /** Opens a cursor. */
    @FunctionalInterface
    interface Factory {
        /**
         * @param start         where to begin
         * @param atRecordStart {@code start} is a record boundary (a committed continueAt); otherwise it
         *                      is a page boundary that may be inside a record, and the cursor begins at
         *                      the first record that starts at or after it
         * @param sysid         the system identifier page headers must carry, 0 to take the first long header's
         */
        RecordIndexer open(WalSource source, long start, boolean atRecordStart, int segmentSize, long sysid);
    }
}
