package org.dbfs.pgformat.wal;

/**
 * The reader found no valid record at {@link #lsn()}. Every reason is also how PostgreSQL's own
 * recovery finds the end of WAL, so none of them is an error by itself; the reader does not move,
 * and calling {@link WalReader#next()} again retries at the same position (after more bytes arrived,
 * or after a recycled segment was overwritten).
 *
 * @param reason  which check stopped the reader
 * @param lsn     the record start (or page, for {@link Reason#INVALID_PAGE_HEADER}) where it stopped
 * @param message PostgreSQL's wording of the problem
 */
public record WalEnd(Reason reason, long lsn, String message) implements WalReadResult {

    public enum Reason {
        /** The source has no more bytes at this position yet: the stream is caught up (or the file ends). */
        NEED_MORE_BYTES,
        /** A page header failed validation: wrong magic or flags, wrong pageaddr (a recycled segment), TLI going back. */
        INVALID_PAGE_HEADER,
        /** xl_tot_len is zero or smaller than a record header (zeroed, never written WAL), or absurdly large. */
        INVALID_RECORD_LENGTH,
        /** xl_prev does not point at the previous record. */
        BAD_PREV_LINK,
        /** The record's CRC-32C does not match its bytes. */
        CRC_MISMATCH,
        /** Any other malformed record or continuation: bad rmid, missing contrecord flag, bad block headers. */
        INVALID_RECORD
    }

    @Override
    public String toString() {
        return "WalEnd[" + reason + " at " + Lsn.format(lsn) + ": " + message + "]";
    }
}
