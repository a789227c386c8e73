package org.dbfs.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.dbfs.pgformat.ControlFile;
import org.dbfs.pgformat.ControlFileException;
import org.dbfs.pgformat.wal.Lsn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * B, the LSN a read-only mount reads relation pages at: max(S, the newest minRecoveryPoint the
 * standby wrote to its own pg_control).
 *
 * <p>Why that is enough: before a standby writes out a dirty page, XLogFlush raises
 * minRecoveryPoint to its replay position and fsyncs pg_control (xlog.c, UpdateMinRecoveryPoint),
 * and that write passes through this mount before the page's does. The mount drops the page, and
 * a later read of it at B gets the page with every record up to B, which includes everything the
 * standby had applied to it. A page the standby has not touched since S is the same at any B up
 * to its replay position.
 */
final class ReplicaReadPoint {
    private static final Logger log = LoggerFactory.getLogger(ReplicaReadPoint.class);

    private final long snapshotLsn;
    private final Path controlFile;
    private final boolean fixed;
    private volatile long current;

    /** @param controlFile the standby's own pg_control, in the overlay */
    ReplicaReadPoint(long snapshotLsn, Path controlFile) throws IOException {
        this(snapshotLsn, controlFile, false);
    }

    private ReplicaReadPoint(long lsn, Path controlFile, boolean fixed) throws IOException {
        this.snapshotLsn = lsn;
        this.controlFile = controlFile;
        this.fixed = fixed;
        this.current = lsn;
        controlFileWritten();
    }

    /**
     * A time-travel mount's B: always {@code atLsn}. Its standby stops replaying there (paused at
     * its recovery target), so it can never have applied a record past it, and pages read at B
     * are exactly what it needs.
     */
    static ReplicaReadPoint fixedAt(long atLsn, Path controlFile) throws IOException {
        return new ReplicaReadPoint(atLsn, controlFile, true);
    }

    boolean isFixed() {
        return fixed;
    }

    long snapshotLsn() {
        return snapshotLsn;
    }

    /** B now. */
    long lsn() {
        return current;
    }

    /**
     * The standby wrote its pg_control: B follows its minRecoveryPoint up (never down). A file
     * that does not parse (a write of part of it) leaves B as it is; the whole file follows.
     */
    synchronized void controlFileWritten() throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(controlFile);
        } catch (NoSuchFileException e) {
            return;
        }
        long minRecoveryPoint;
        try {
            minRecoveryPoint = ControlFile.parse(bytes).minRecoveryPoint();
        } catch (ControlFileException e) {
            log.debug("pg_control does not parse yet ({}); B stays at {}", e.getMessage(), Lsn.format(current));
            return;
        }
        if (Long.compareUnsigned(minRecoveryPoint, current) > 0) {
            if (fixed) {
                log.error("the standby on this time-travel mount wrote minRecoveryPoint {} past the mount's point {}: it"
                        + " replayed beyond its recovery target. Pages stay as of {}; check recovery_target_lsn in its"
                        + " postgresql.auto.conf", Lsn.format(minRecoveryPoint), Lsn.format(current), Lsn.format(current));
                return;
            }
            current = minRecoveryPoint;
        }
    }
}
