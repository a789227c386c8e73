package org.dbfs.walservice.index;

import org.dbfs.pgformat.BufferTag;

/**
 * "The WAL record at {@code lsn} touches {@code page}": what a record decoder hands the index,
 * one per block reference.
 *
 * @param lsn    start of the record (ReadRecPtr)
 * @param endLsn EndRecPtr, what redo writes into the page's pd_lsn
 * @param length xl_tot_len
 * @param flags  {@link RecordFlags} bits
 */
public record PageRef(BufferTag page, long lsn, long endLsn, int length, int flags) {
    public PageRef {
        if (Long.compareUnsigned(endLsn, lsn) <= 0) {
            throw new IllegalArgumentException("record must end after it starts: lsn=" + lsn + " endLsn=" + endLsn);
        }
        if ((flags & ~RecordFlags.KNOWN) != 0) {
            throw new IllegalArgumentException("unknown record flags: flags=0x" + Integer.toHexString(flags));
        }
    }

    public IndexedRecord record() {
        return new IndexedRecord(lsn, endLsn, length, flags);
    }
}
