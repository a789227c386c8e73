package org.dbfs.pageserver.status;

import java.time.Instant;
import org.dbfs.fencing.ClusterLease;
import org.dbfs.fencing.ClusterLeaseStore;
import org.dbfs.pageserver.getpage.RemoteWal;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pageserver.store.Readers;
import org.dbfs.protocol.pageserver.v1.ClusterStatus;
import org.dbfs.protocol.pageserver.v1.LeaseStatus;
import org.dbfs.protocol.pageserver.v1.ReaderStatus;
import org.dbfs.protocol.pageserver.v1.StoreStatus;
import org.dbfs.protocol.pageserver.v1.TimelineStatus;
import org.dbfs.protocol.pageserver.v1.WalServiceStatus;
import org.dbfs.protocol.walservice.v1.Positions;

/**
 * The cluster at a glance, as this page server sees it: {@code dbfs status}, the status page and the
 * metrics all read it from here. The lease is read from the bucket and the positions are asked of
 * the WAL service, so a report costs two requests; {@link #current()} shares one for a second.
 */
public final class ClusterStatusReport {
    private static final long SHARE_MS = 1000;

    private final PageStore store;
    private final ClusterLeaseStore leases;
    private final RemoteWal wal; // null without --walservice
    private final String branch;
    private ClusterStatus last; // guarded by this
    private long lastAtNanos;

    public ClusterStatusReport(PageStore store, ClusterLeaseStore leases, RemoteWal wal, String branch) {
        this.store = store;
        this.leases = leases;
        this.wal = wal;
        this.branch = branch;
    }

    /** A report at most a second old. */
    public synchronized ClusterStatus current() {
        long now = System.nanoTime();
        if (last == null || now - lastAtNanos > SHARE_MS * 1_000_000) {
            last = fresh();
            lastAtNanos = now;
        }
        return last;
    }

    /** A report made now. */
    public ClusterStatus fresh() {
        Instant now = leases.now();
        ClusterStatus.Builder status = ClusterStatus.newBuilder().setNowMs(now.toEpochMilli()).setBucket(store.bucket())
                .setBranch(branch);
        try {
            leases.read().ifPresent(current -> status.setLease(lease(current.lease())));
        } catch (RuntimeException e) {
            status.setLeaseError(String.valueOf(e.getMessage()));
        }
        var timelines = store.timelines();
        for (var start : timelines.starts()) {
            status.addTimelines(TimelineStatus.newBuilder().setTimeline(start.timeline()).setParent(start.parent())
                    .setBranchLsn(start.branchLsn()).setCurrent(start.timeline() == timelines.current().timeline()));
        }
        long received = 0;
        if (wal != null) {
            WalServiceStatus.Builder w = WalServiceStatus.newBuilder().setAddress(wal.target());
            try {
                Positions p = wal.currentPositions();
                w.setPositions(p);
                received = p.getReceivedLsn();
            } catch (RuntimeException e) {
                w.setError(String.valueOf(e.getMessage()));
            }
            status.setWal(w);
        }
        for (Readers.Renewed r : store.readers().live()) {
            long lsn = r.lease().lsn();
            status.addReaders(ReaderStatus.newBuilder().setId(r.lease().id()).setHolder(r.lease().holder()).setLsn(lsn)
                    .setRenewedMs(r.renewedAt().toEpochMilli()).setExpiresMs(r.lease().expiresAt().toEpochMilli())
                    .setLagBytes(Long.compareUnsigned(received, lsn) > 0 ? received - lsn : 0));
        }
        var gc = store.gcTotals();
        status.setStore(StoreStatus.newBuilder().setUnpackedJournalBytes(store.unpackedBytes())
                .setSegments(store.segmentCount()).setSegmentBytes(store.segmentBytes()).setGcHorizonLsn(store.horizonLsn())
                .setLastSeq(store.lastSeq()).setPackedSeq(store.packedSeq()).setVersionsDropped(gc.versionsDropped())
                .setWriterEpoch(store.epoch()));
        return status.build();
    }

    private LeaseStatus lease(ClusterLease l) {
        return LeaseStatus.newBuilder().setEpoch(l.epoch()).setState(l.state().name().toLowerCase(java.util.Locale.ROOT))
                .setHolder(l.holder()).setTimeline(l.timeline())
                .setRenewedMs(l.expiresAt().minus(leases.ttl()).toEpochMilli()).setExpiresMs(l.expiresAt().toEpochMilli())
                .setFenceLsn(l.fenceLsn()).build();
    }
}
