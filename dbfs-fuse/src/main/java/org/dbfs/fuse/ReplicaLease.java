package org.dbfs.fuse;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.HoldReaderRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A read-only mount's claim on history: it holds B with the page server (a reader lease in the
 * bucket) and renews it, so that garbage collection keeps every version, and every dropped
 * relation's pages, that reads at B or later need. B only rises, so the claim only moves forward.
 * A clean unmount gives it up; a mount that died holds nothing once the lease expires, and its
 * reads below the horizon then fail with the horizon named, never with a wrong page.
 */
final class ReplicaLease implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReplicaLease.class);
    static final int TTL_SECONDS = 300;
    private static final long RENEW_SECONDS = 30;

    private final PageServerClient client;
    private final String id;
    private final String holder;
    private final ReplicaReadPoint readPoint;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "dbfs-reader-lease");
        t.setDaemon(true);
        return t;
    });

    private ReplicaLease(PageServerClient client, String id, String holder, ReplicaReadPoint readPoint) {
        this.client = client;
        this.id = id;
        this.holder = holder;
        this.readPoint = readPoint;
    }

    /**
     * Takes the claim at B now, then renews it every 30 s.
     *
     * @throws IOException if the page server refuses it (B below its retention horizon)
     */
    static ReplicaLease take(PageServerClient client, String id, String holder, ReplicaReadPoint readPoint) throws IOException {
        ReplicaLease lease = new ReplicaLease(client, id, holder, readPoint);
        try {
            lease.renew();
        } catch (StatusRuntimeException e) {
            throw new IOException("the page server will not keep history for this replica at B = "
                    + Lsn.format(readPoint.lsn()) + ": " + e.getStatus().getDescription(), e);
        }
        lease.timer.scheduleWithFixedDelay(lease::renewQuietly, RENEW_SECONDS, RENEW_SECONDS, TimeUnit.SECONDS);
        return lease;
    }

    private void renew() {
        client.holdReader(HoldReaderRequest.newBuilder().setId(id).setLsn(readPoint.lsn()).setTtlSeconds(TTL_SECONDS)
                .setHolder(holder).build());
    }

    private void renewQuietly() {
        try {
            renew();
        } catch (RuntimeException e) {
            log.error("cannot renew the reader lease {} at B = {} (it lapses {} s after the last renewal, and reads "
                    + "below the horizon then fail): {}", id, Lsn.format(readPoint.lsn()), TTL_SECONDS, e.toString());
        }
    }

    /** Stops renewing and gives the claim up. */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            client.holdReader(HoldReaderRequest.newBuilder().setId(id).setRelease(true).build());
        } catch (RuntimeException e) {
            log.warn("cannot release the reader lease {} (it lapses by itself within {} s): {}", id, TTL_SECONDS, e.toString());
        }
    }
}
