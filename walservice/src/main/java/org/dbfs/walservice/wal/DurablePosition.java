package org.dbfs.walservice.wal;

import org.dbfs.pgformat.wal.Lsn;
/**
 * What the position file says: whose WAL the data directory holds (system identifier, timeline,
 * segment size), where the local log starts, and the end of the WAL that was fsynced.
 */
public record DurablePosition(long systemIdentifier, int timeline, int segmentSize, long startLsn, long flushedLsn) {
    public DurablePosition {
        if (Long.compareUnsigned(flushedLsn, startLsn) < 0) {
            throw new IllegalArgumentException("flushed_lsn " + Lsn.format(flushedLsn) + " is before start_lsn " + Lsn.format(startLsn));
        }
    }

    public DurablePosition withFlushed(long lsn) {
        return new DurablePosition(systemIdentifier, timeline, segmentSize, startLsn, lsn);
    }
}
