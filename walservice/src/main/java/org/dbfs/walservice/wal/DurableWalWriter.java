package org.dbfs.walservice.wal;

import java.io.IOException;

/**
 * The durability step between the replication stream and everything else: appends received WAL to
 * the local log, and on {@link #makeDurable} fsyncs it, then writes the position file, then
 * publishes the new flushed position. Only after that may the primary be told (zero RPO) and the
 * archiver read it (the archive never runs ahead of local durability).
 *
 * <p>Single-threaded: the replication receiver thread owns it.
 */
public final class DurableWalWriter implements AutoCloseable {
    private final LocalWal wal;
    private final PositionFile positionFile;
    private final WalPositions positions;
    private DurablePosition durable;

    public DurableWalWriter(LocalWal wal, PositionFile positionFile, WalPositions positions, DurablePosition durable) {
        this.wal = wal;
        this.positionFile = positionFile;
        this.positions = positions;
        this.durable = durable;
    }

    public DurablePosition durable() {
        return durable;
    }

    public LocalWal wal() {
        return wal;
    }

    public void append(long startLsn, byte[] data, int off, int len) throws IOException {
        wal.write(startLsn, data, off, len);
        positions.received(startLsn + len);
    }

    public long unsyncedBytes() {
        return wal.writeLsn() - durable.flushedLsn();
    }

    /** fsync, then the position file, then publish; returns the durable end. */
    public long makeDurable() throws IOException {
        long end = wal.sync();
        if (end != durable.flushedLsn()) {
            DurablePosition next = durable.withFlushed(end);
            positionFile.store(next);
            durable = next;
            positions.flushed(end);
        }
        return end;
    }

    /** See {@link WalPositions#rewind}: the log now ends, durably, at {@code lsn}. */
    public void rewind(long lsn, long archivedFrom) throws IOException {
        wal.rewind(lsn);
        DurablePosition next = durable.withFlushed(lsn);
        positionFile.store(next);
        durable = next;
        positions.rewind(lsn, archivedFrom);
    }

    @Override
    public void close() throws IOException {
        wal.close();
    }
}
