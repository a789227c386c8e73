package org.dbfs.pageserver.getpage;

/** The WAL service did not index WAL up to the requested LSN in time (not received yet, or indexing stopped). */
public final class WalNotIndexedException extends RuntimeException {
    public WalNotIndexedException(String message) {
        super(message);
    }
}
