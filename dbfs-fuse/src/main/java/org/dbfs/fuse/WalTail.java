package org.dbfs.fuse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.dbfs.pgformat.ControlFile;
import org.dbfs.pgformat.PgConstants;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.WalEnd;
import org.dbfs.pgformat.wal.WalReadResult;
import org.dbfs.pgformat.wal.WalReader;
import org.dbfs.pgformat.wal.WalSource;

/**
 * Where a stopped cluster's valid WAL ends (read from its own pg_wal, from the checkpoint pg_control
 * names, as PostgreSQL's startup reads it), and so which bytes of pg_wal an import copies.
 *
 * <p>Why not all of them: a cluster that has run for a while keeps recycled segment files ahead of
 * its WAL (old segments renamed for later use; 977 MiB of them after {@code pgbench -i -s 70}), and
 * the segment its WAL ends in keeps old bytes past that end. PostgreSQL never reads those bytes
 * (their pages carry old addresses) and overwrites them as it gets there. On DbFS they would mislead
 * the page server, which takes every WAL byte written into pg_wal as WAL that exists: its write
 * marks (where promotions and branches cut) would claim WAL far past the end, and its search for
 * the end of WAL (replicas, snapshots), which tries only the newest few segments, would find stale
 * ones only. A read-write mount never writes such bytes (postgres-conf/primary.conf turns recycling
 * off). So segments of the WAL's timeline past the one it ends in are left out, and that one is
 * copied up to the end of WAL's page; the rest of it stays a hole, read as zeros, which is how
 * PostgreSQL reads the end of WAL too. Every other file in pg_wal (older segments kept for
 * archiving or a replication slot, other timelines, history and archive status files) is copied.
 */
final class WalTail {
    private static final int PAGE = PgConstants.BLCKSZ;

    private final int timeline;
    private final int segSize;
    private final long end;

    private WalTail(int timeline, int segSize, long end) {
        this.timeline = timeline;
        this.segSize = segSize;
        this.end = end;
    }

    /** @throws IOException if pg_wal lacks the checkpoint record pg_control names (PostgreSQL could not start either) */
    static WalTail find(Path pgWal, ControlFile control) throws IOException {
        int segSize = control.xlogSegSize();
        int timeline = control.checkPointTimeLineId();
        long checkpoint = control.checkPoint();
        WalReader reader = WalReader.atRecord(source(pgWal, timeline, segSize), checkpoint, segSize, control.systemIdentifier());
        WalReadResult r;
        long records = 0;
        try {
            while ((r = reader.next()) instanceof DecodedRecord) {
                records++;
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        if (records == 0) {
            WalEnd why = (WalEnd) r;
            throw new IOException(pgWal + " does not hold the checkpoint record at " + Lsn.format(checkpoint) + " that"
                    + " pg_control names (" + why.message() + "): PostgreSQL could not start from this data directory either."
                    + " Is pg_wal complete (segment " + Lsn.segmentFileName(timeline, Lsn.segmentNumber(checkpoint, segSize), segSize)
                    + ")?");
        }
        return new WalTail(timeline, segSize, reader.position());
    }

    /** The end of the last valid record (EndRecPtr). */
    long end() {
        return end;
    }

    int timeline() {
        return timeline;
    }

    /**
     * How many bytes of the pg_wal file {@code name} ({@code size} bytes) to copy: all of them, the
     * part up to the end of WAL's page for the segment the WAL ends in, or -1 to leave the file out.
     */
    long bytesToCopy(String name, long size) {
        if (name.length() != 24 || !name.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))
                || Lsn.timelineOfFileName(name) != timeline) {
            return size;
        }
        long segNo = Lsn.segmentNumberOfFileName(name, segSize);
        long endSegNo = Lsn.segmentNumber(end - 1, segSize);
        if (segNo > endSegNo) {
            return -1;
        }
        if (segNo < endSegNo) {
            return size;
        }
        long within = end - Lsn.segmentStart(endSegNo, segSize);
        return Math.min(size, (within + PAGE - 1) / PAGE * PAGE);
    }

    /** The WAL of {@code timeline}, segment file by segment file; a missing file ends it. */
    private static WalSource source(Path pgWal, int timeline, int segSize) {
        return (lsn, dst, off, len) -> {
            Path file = pgWal.resolve(Lsn.segmentFileName(timeline, Lsn.segmentNumber(lsn, segSize), segSize));
            if (!Files.isRegularFile(file)) {
                return 0;
            }
            int within = Lsn.segmentOffset(lsn, segSize);
            try (FileChannel c = FileChannel.open(file)) {
                ByteBuffer into = ByteBuffer.wrap(dst, off, Math.min(len, segSize - within));
                long pos = within;
                while (into.hasRemaining()) {
                    int n = c.read(into, pos);
                    if (n < 0) {
                        break;
                    }
                    pos += n;
                }
                return (int) (pos - within);
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + file + ": " + e.getMessage(), e);
            }
        };
    }
}
