package org.dbfs.walservice.index;

import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.WalEnd;

/**
 * Durable WAL that does not decode: a CRC mismatch, a bad page header, a malformed record below the
 * flushed position. Such bytes were acknowledged to the primary, so this is corruption (of the local
 * log, or a bug), never "the end of WAL"; indexing stops at {@link #lsn()} instead of indexing garbage.
 */
public final class CorruptWalException extends RuntimeException {
    private final transient WalEnd end;

    public CorruptWalException(WalEnd end) {
        super("durable WAL is corrupt at " + Lsn.format(end.lsn()) + " (" + end.reason() + "): " + end.message());
        this.end = end;
    }

    public long lsn() {
        return end.lsn();
    }

    public WalEnd.Reason reason() {
        return end.reason();
    }
}
