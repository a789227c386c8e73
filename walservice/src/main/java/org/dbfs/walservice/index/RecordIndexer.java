package org.dbfs.walservice.index;

/**
 * The seam between durable WAL and the index: turns WAL bytes into the page references of the
 * records in them. The WAL record decoder (pgformat) plugs in here; the service itself does not
 * parse WAL.
 *
 * <p>Contract: {@code wal} holds the WAL bytes [startLsn, startLsn + wal.length), where
 * {@code startLsn} is where the previous batch said to continue (the first call gets the start of
 * the local log, a page boundary). The indexer returns the references of every record that starts
 * and ends inside the bytes, and {@link Batch#continueAt()}: where the first record it could not
 * finish starts (or the aligned end of the last complete one). The next call starts there.
 */
public interface RecordIndexer {

    Batch pageRefs(byte[] wal, long startLsn);

    /** @param continueAt every record starting below this is in {@code refs} */
    record Batch(java.util.List<PageRef> refs, long continueAt) {}
}
