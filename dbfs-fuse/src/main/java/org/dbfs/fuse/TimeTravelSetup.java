package org.dbfs.fuse;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.time.Instant;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.ResolvePointReply;
import org.dbfs.protocol.pageserver.v1.ResolvePointRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A time-travel mount's start (docs/time-travel.md): resolve the point to X_end and a snapshot,
 * claim history at X_end, then unpack the snapshot. The claim comes first because X_end lies in the
 * past: garbage collection could otherwise pass it while the snapshot is being copied.
 */
final class TimeTravelSetup {
    private static final Logger log = LoggerFactory.getLogger(TimeTravelSetup.class);

    /** The overlay's snapshot, its fixed read point and the reader lease that holds it. */
    record Prepared(ReplicaOverlay.Snapshot snapshot, ReplicaReadPoint readPoint, ReplicaLease lease, ResolvePointReply point) {}

    private TimeTravelSetup() {}

    static Prepared prepare(PageServerClient client, String pageServer, ReplicaOverlay overlay, ResolvePointRequest request,
                            String holder, int leaseTtlSeconds) throws IOException {
        ResolvePointReply point;
        try {
            point = client.resolvePoint(request);
        } catch (StatusRuntimeException e) {
            throw new IOException("cannot mount as of " + describe(request) + ": " + e.getStatus().getDescription(), e);
        }
        long at = point.getLsn();
        ReplicaOverlay.Snapshot existing = overlay.snapshot();
        if (existing != null && existing.atLsn() != at) {
            throw new IOException("the overlay " + overlay.dir() + " shows " + (existing.isTimeTravel()
                    ? "the cluster as of " + Lsn.format(existing.atLsn()) : "a replica that follows the primary")
                    + ", not " + Lsn.format(at) + ": use a fresh --overlay-dir");
        }
        ReplicaReadPoint readPoint = ReplicaReadPoint.fixedAt(at, overlay.data().resolve("global/pg_control"));
        String readerId = existing != null ? existing.readerId() : "timetravel-" + java.util.UUID.randomUUID();
        ReplicaLease lease = ReplicaLease.take(client, readerId, holder, readPoint, leaseTtlSeconds);
        try {
            if (existing != null) {
                log.info("overlay {}: going on as of {} (snapshot copied {})", overlay.dir(), Lsn.format(at), existing.copiedAt());
                return new Prepared(existing, readPoint, lease, point);
            }
            SnapshotRestore.restore(client, overlay.startCopy(), point);
            ReplicaOverlay.Snapshot made = new ReplicaOverlay.Snapshot(point.getSnapshot().getWalEnd(), point.getTimeline(),
                    point.getSystemIdentifier(), pageServer, Instant.now(), readerId, at);
            overlay.commit(made);
            return new Prepared(made, readPoint, lease, point);
        } catch (IOException | RuntimeException e) {
            lease.close();
            throw e;
        }
    }

    static String describe(ResolvePointRequest r) {
        return r.hasLsn() ? "LSN " + Lsn.format(r.getLsn()) : Instant.ofEpochSecond(0, r.getTimeUs() * 1000).toString();
    }
}
