package org.dbfs.walservice.wal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.dbfs.pgformat.wal.Lsn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes local WAL segment files that nothing here needs any more: wholly archived (the archive
 * then serves reads of them; see {@code WalBytesReader.readLocalOrArchive}) and, when this service
 * indexes, wholly indexed. The segment holding the oldest still-needed byte is kept, and so is
 * everything after it. Without this the local WAL directory grows with everything the primary
 * ever wrote. Not thread-safe: the archiver's thread calls it after each upload.
 */
public final class LocalSegmentRetirer {
    private static final Logger LOG = LoggerFactory.getLogger(LocalSegmentRetirer.class);

    private final Path walDir;
    private final WalPositions positions;
    private final boolean indexing;
    private long lowestLeft = -1; // no segment file below this one exists

    public LocalSegmentRetirer(Path walDir, WalPositions positions, boolean indexing) {
        this.walDir = walDir;
        this.positions = positions;
        this.indexing = indexing;
    }

    /**
     * Deletes what is no longer needed; returns how many segment files went. A file that cannot be
     * deleted is logged and tried again next time: it never holds up archiving.
     */
    public int retire() {
        try {
            return retireOrThrow();
        } catch (IOException e) {
            LOG.warn("walservice: deleting archived local WAL segments in {} failed ({}); will retry", walDir, e.toString());
            return 0;
        }
    }

    private int retireOrThrow() throws IOException {
        long needed = positions.archived();
        if (indexing) {
            needed = Math.min(needed, positions.indexed());
        }
        if (needed <= 0 || positions.localStart() < 0) {
            return 0;
        }
        WalSegments segments = new WalSegments(positions.segmentSize());
        long keepFrom = segments.segmentNumber(needed);
        if (lowestLeft < 0) {
            lowestLeft = lowestPresent(segments, keepFrom);
        }
        int deleted = 0;
        for (long segno = lowestLeft; segno < keepFrom; segno++) {
            if (Files.deleteIfExists(walDir.resolve(segments.fileName(positions.fileTimeline(), segno)))) {
                deleted++;
            }
        }
        lowestLeft = Math.max(lowestLeft, keepFrom);
        if (deleted > 0) {
            LOG.info("walservice: deleted {} local WAL segments below {} (archived{})", deleted, Lsn.format(needed),
                    indexing ? " and indexed" : "");
        }
        return deleted;
    }

    private long lowestPresent(WalSegments segments, long fallback) throws IOException {
        long lowest = fallback;
        try (Stream<Path> files = Files.list(walDir)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                try {
                    lowest = Math.min(lowest, segments.segmentNumber(name));
                } catch (IllegalArgumentException notASegment) {
                    // the position file and anything else that is not a WAL segment
                }
            }
        }
        return lowest;
    }
}
