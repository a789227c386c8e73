package org.dbfs.pageserver.datadir;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Instant;
import java.util.List;
import org.dbfs.pageserver.getpage.RemoteWal;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.WalEnd;
import org.dbfs.pgformat.wal.WalReadResult;
import org.dbfs.pgformat.wal.WalReader;
import org.dbfs.pgformat.wal.XactEndRecords;
import org.dbfs.protocol.pageserver.v1.ResolvePointReply;
import org.dbfs.protocol.pageserver.v1.SnapshotInfo;

/**
 * Turns a point in the past into where a time-travel mount stops (docs/time-travel.md): X_end, the
 * end of the last WAL record at or before the point, and the snapshot to start from.
 *
 * <p>Why a record end: PostgreSQL's recovery with {@code recovery_target_inclusive = off} stops
 * before the first record starting at or after its target, so a target inside a record would
 * replay that record, while GetPage@LSN at the same target leaves it out. At a record end both
 * agree, and the standby's replay position is exactly X_end.
 *
 * <p>A time is mapped as {@code recovery_target_time} (inclusive) maps it: the state before the
 * first transaction end record whose xact_time is after it. Records are decoded from the chosen
 * snapshot's checkpoint, a record start known to lie before the point; that is at most one
 * checkpoint interval of WAL, the same stretch the standby replays afterwards.
 */
public final class PointResolver {
    private static final long WAIT_FOR_INDEX_MS = 10_000;

    private final PageStore store;
    private final RemoteWal wal;

    public PointResolver(PageStore store, RemoteWal wal) {
        this.store = store;
        this.wal = wal;
    }

    public ResolvePointReply resolveLsn(long lsn) {
        long indexed = indexedAtLeast(lsn);
        if (Long.compareUnsigned(lsn, indexed) > 0) {
            throw outOfRange("LSN " + Lsn.format(lsn) + " is beyond the end of WAL: the WAL service has "
                    + Lsn.format(indexed) + " so far. " + validRange(indexed));
        }
        checkHorizon(lsn, "LSN " + Lsn.format(lsn), indexed);
        SnapshotInfo snapshot = store.snapshots().newestAtOrBelow(lsn).orElseThrow(() -> beforeSnapshots(
                "LSN " + Lsn.format(lsn), indexed));
        Scan scan = scan(snapshot, lsn, Long.MAX_VALUE, indexed);
        checkHorizon(scan.end, "LSN " + Lsn.format(lsn) + " (the last record ending there ends at " + Lsn.format(scan.end)
                + ")", indexed);
        return reply(scan.end, snapshot, scan.lastCommitUs, indexed);
    }

    public ResolvePointReply resolveTime(long unixMicros) {
        long indexed = wal.indexedLsn();
        List<SnapshotInfo> snapshots = store.snapshots().list();
        String what = "time " + Instant.ofEpochSecond(0, unixMicros * 1000);
        if (snapshots.isEmpty()) {
            throw beforeSnapshots(what, indexed);
        }
        // Newest first: the first commit after the time lies past the newest snapshot that precedes it.
        for (SnapshotInfo snapshot : snapshots.reversed()) {
            if (Long.compareUnsigned(snapshot.getWalEnd(), indexed) > 0) {
                continue;
            }
            Scan scan = scan(snapshot, indexed, unixMicros, indexed);
            if (scan.stopCommitUs == 0) {
                throw outOfRange("no transaction has committed or aborted after " + what + " yet: the newest one"
                        + (scan.lastCommitUs == 0 ? " is before snapshot " + snapshot.getName()
                        : " is at " + Instant.ofEpochSecond(0, scan.lastCommitUs * 1000)) + ", and the WAL ends at "
                        + Lsn.format(indexed) + ". Use --at-lsn for the newest state");
            }
            // The state at X_end is the time's only if nothing in it is newer: every transaction end
            // after the snapshot's checkpoint was checked, and the snapshot's own are older than a
            // commit after them, or older than the snapshot itself.
            boolean stateIsOlder = scan.lastCommitUs != 0 || snapshot.getTakenAtMs() * 1000 <= unixMicros;
            if (Long.compareUnsigned(scan.end, snapshot.getWalEnd()) >= 0 && stateIsOlder) {
                checkHorizon(scan.end, what + " (LSN " + Lsn.format(scan.end) + ")", indexed);
                return reply(scan.end, snapshot, scan.lastCommitUs, indexed);
            }
            if (snapshot == snapshots.getFirst()) {
                throw outOfRange(what + " is before the oldest state this bucket can show: the oldest data-directory"
                        + " snapshot (WAL end " + Lsn.format(snapshot.getWalEnd()) + ") was taken at "
                        + Instant.ofEpochMilli(snapshot.getTakenAtMs()) + ", and the first transaction end after the time"
                        + " is at " + Instant.ofEpochSecond(0, scan.stopCommitUs * 1000) + ". " + validRange(indexed));
            }
        }
        throw outOfRange(what + ": no snapshot at or below the indexed WAL end " + Lsn.format(indexed) + ". "
                + validRange(indexed));
    }

    private ResolvePointReply reply(long end, SnapshotInfo snapshot, long commitUs, long indexed) {
        return ResolvePointReply.newBuilder().setLsn(end).setTimeline(store.timelines().timelineAt(end))
                .setSnapshot(snapshot).setSystemIdentifier(wal.systemIdentifier()).setCommitTimeUs(commitUs)
                .setValidFrom(validFrom()).setValidTo(indexed).build();
    }

    /** What a scan found: the stop (X_end), the last transaction end before it, the one it stopped at (time mode). */
    private record Scan(long end, long lastCommitUs, long stopCommitUs) {}

    /**
     * Decodes from the snapshot's checkpoint up to {@code lsn} or up to the first transaction end
     * after {@code afterUnixMicros}, whichever comes first.
     */
    private Scan scan(SnapshotInfo snapshot, long lsn, long afterUnixMicros, long indexed) {
        WalReader reader = WalReader.atRecord(wal.sequential(indexed), snapshot.getCheckpoint(), wal.segmentSize(),
                wal.systemIdentifier());
        long end = snapshot.getCheckpoint();
        long lastCommit = 0;
        while (true) {
            WalReadResult r;
            try {
                r = reader.next();
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
                    throw outOfRange("the WAL after snapshot " + snapshot.getName() + " (from its checkpoint "
                            + Lsn.format(snapshot.getCheckpoint()) + ") cannot be read: " + e.getStatus().getDescription()
                            + ". Points from the next snapshot on can be shown: " + validRange(indexed));
                }
                throw e;
            }
            if (r instanceof WalEnd stop) {
                if (stop.reason() == WalEnd.Reason.NEED_MORE_BYTES) {
                    return new Scan(end, lastCommit, 0);
                }
                throw Status.DATA_LOSS.withDescription("the WAL after snapshot " + snapshot.getName() + " does not decode at "
                        + Lsn.format(stop.lsn()) + ": " + stop.message()).asRuntimeException();
            }
            DecodedRecord rec = (DecodedRecord) r;
            if (Long.compareUnsigned(rec.endLsn(), lsn) > 0) {
                return new Scan(end, lastCommit, 0);
            }
            if (XactEndRecords.isXactEnd(rec)) {
                long t = XactEndRecords.xactTimeUnixMicros(rec);
                if (t > afterUnixMicros) {
                    return new Scan(end, lastCommit, t);
                }
                lastCommit = t;
            }
            end = rec.endLsn();
        }
    }

    private long indexedAtLeast(long lsn) {
        long deadline = System.nanoTime() + WAIT_FOR_INDEX_MS * 1_000_000;
        long indexed = wal.indexedLsn();
        while (Long.compareUnsigned(indexed, lsn) < 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(100); // a point just written: the WAL service indexes it within moments
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            indexed = wal.indexedLsn();
        }
        return indexed;
    }

    private void checkHorizon(long lsn, String what, long indexed) {
        if (Long.compareUnsigned(lsn, store.horizonLsn()) < 0) {
            throw outOfRange(what + " is before the retention horizon " + store.horizonDescription()
                    + ": what reads there need may be collected. " + validRange(indexed));
        }
    }

    private StatusRuntimeException beforeSnapshots(String what, long indexed) {
        List<SnapshotInfo> all = store.snapshots().list();
        if (all.isEmpty()) {
            return Status.OUT_OF_RANGE.withDescription("no data-directory snapshot yet: the page server takes one after each"
                    + " checkpoint; run CHECKPOINT on the primary, then any point after it can be shown").asRuntimeException();
        }
        return outOfRange(what + " is before the oldest data-directory snapshot (WAL end "
                + Lsn.format(all.getFirst().getWalEnd()) + "). " + validRange(indexed));
    }

    private long validFrom() {
        List<SnapshotInfo> all = store.snapshots().list();
        long oldest = all.isEmpty() ? -1 : all.getFirst().getWalEnd();
        long horizon = store.horizonLsn();
        return Long.compareUnsigned(oldest, horizon) > 0 ? oldest : horizon;
    }

    private String validRange(long indexed) {
        return "Valid range now: " + Lsn.format(validFrom()) + " .. " + Lsn.format(indexed);
    }

    private static StatusRuntimeException outOfRange(String message) {
        return Status.OUT_OF_RANGE.withDescription(message).asRuntimeException();
    }
}
