package org.dbfs.pgformat.wal;

/**
 * Where a {@link WalReader} gets WAL bytes from, addressed by LSN: a directory of segment files, a
 * buffer filled by a replication stream, an archive. Implementations do the I/O; pgformat does none.
 */
@FunctionalInterface
public interface WalSource {

    /**
     * Copies up to {@code len} bytes of WAL starting at {@code lsn} into {@code dst}.
     *
     * @return how many bytes were copied, between 0 and {@code len}; 0 means nothing is available
     *     at {@code lsn} yet (or ever, for a finished source). The reader asks again later.
     */
    int read(long lsn, byte[] dst, int off, int len);

    /** A source over one in-memory buffer that holds the WAL from {@code startLsn} on. */
    static WalSource ofBytes(long startLsn, byte[] wal, int length) {
        return (lsn, dst, off, len) -> {
            if (Long.compareUnsigned(lsn, startLsn) < 0 || lsn - startLsn >= length) {
                return 0;
            }
            int from = (int) (lsn - startLsn);
            int n = Math.min(len, length - from);
            System.arraycopy(wal, from, dst, off, n);
            return n;
        };
    }
}
