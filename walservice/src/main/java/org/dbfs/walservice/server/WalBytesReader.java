package org.dbfs.walservice.server;

import java.io.IOException;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.walservice.archive.ArchiveReader;
import org.dbfs.walservice.archive.WalArchiver.DurableWal;
import org.dbfs.walservice.wal.WalFiles;
import org.dbfs.walservice.wal.WalNotAvailableException;
import org.dbfs.walservice.wal.WalPositions;
import org.dbfs.walservice.wal.WalSegments;

/**
 * Reads durable WAL: from the local segment files where they have it, else from the archive.
 * Refuses anything past the flushed position, so it never hands out WAL that might still change.
 */
public final class WalBytesReader implements DurableWal {
    private final java.nio.file.Path walDir;
    private final WalPositions positions;
    private final ArchiveReader archive;

    public WalBytesReader(java.nio.file.Path walDir, WalPositions positions, ArchiveReader archive) {
        this.walDir = walDir;
        this.positions = positions;
        this.archive = archive;
    }

    /** Durable WAL only, from the local files (the archiver's and indexer's source). */
    @Override
    public byte[] read(long start, long end) throws IOException {
        return localFiles().read(start, checkDurable(start, end));
    }

    /** Durable WAL from the local files, falling back to the archive for what is not here. */
    public byte[] readLocalOrArchive(long start, long end) throws IOException {
        checkDurable(start, end);
        if (positions.localStart() >= 0 && start >= positions.localStart()) {
            try {
                return localFiles().read(start, end);
            } catch (WalNotAvailableException notHere) {
                // segment removed locally or never received here: the archive may have it
            }
        }
        return archive.read(start, end);
    }

    private long checkDurable(long start, long end) {
        long flushed = positions.flushed();
        if (Long.compareUnsigned(end, start) < 0 || Long.compareUnsigned(end, flushed) > 0) {
            throw new WalNotAvailableException("WAL " + Lsn.format(start) + ".." + Lsn.format(end)
                    + " is not durable yet (flushed up to " + Lsn.format(flushed) + ")");
        }
        return end;
    }

    private WalFiles localFiles() {
        if (positions.localStart() < 0) {
            throw new WalNotAvailableException("no local WAL yet: the service has not connected to the primary");
        }
        return new WalFiles(walDir, new WalSegments(positions.segmentSize()), positions.fileTimeline());
    }
}
