package org.dbfs.fuse;

import io.grpc.Status;
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
    /** The default time a claim outlives its last renewal (dbfs mount --reader-lease-ttl). */
    static final int DEFAULT_TTL_SECONDS = 300;

    /** What the mount's status reports: whether the page server still keeps history for B. */
    enum State {
        /** The last renewal succeeded. */
        HELD,
        /** The last renewal failed (page server unreachable); the claim lapses at TTL after the last success. */
        LAPSING,
        /** The page server refused it: B is below its retention horizon, reads there may fail. */
        REFUSED;

        String text() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final PageServerClient client;
    private final String id;
    private final String holder;
    private final ReplicaReadPoint readPoint;
    private final int ttlSeconds;
    private volatile State state = State.HELD;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "dbfs-reader-lease");
        t.setDaemon(true);
        return t;
    });

    private ReplicaLease(PageServerClient client, String id, String holder, ReplicaReadPoint readPoint, int ttlSeconds) {
        this.client = client;
        this.id = id;
        this.holder = holder;
        this.readPoint = readPoint;
        this.ttlSeconds = ttlSeconds;
    }

    /**
     * Takes the claim at B now, then renews it every tenth of {@code ttlSeconds} (at most 30 s).
     *
     * @throws IOException if the page server refuses it (B below its retention horizon)
     */
    static ReplicaLease take(PageServerClient client, String id, String holder, ReplicaReadPoint readPoint, int ttlSeconds)
            throws IOException {
        ReplicaLease lease = new ReplicaLease(client, id, holder, readPoint, ttlSeconds);
        try {
            lease.renew();
        } catch (StatusRuntimeException e) {
            throw new IOException("the page server will not keep history for this replica at B = "
                    + Lsn.format(readPoint.lsn()) + ": " + e.getStatus().getDescription(), e);
        }
        long every = Math.max(100, Math.min(30_000, ttlSeconds * 100L));
        lease.timer.scheduleWithFixedDelay(lease::renewQuietly, every, every, TimeUnit.MILLISECONDS);
        return lease;
    }

    State state() {
        return state;
    }

    private void renew() {
        client.holdReader(HoldReaderRequest.newBuilder().setId(id).setLsn(readPoint.lsn()).setTtlSeconds(ttlSeconds)
                .setHolder(holder).build());
    }

    private void renewQuietly() {
        try {
            renew();
            if (state != State.HELD) {
                log.warn("the reader lease {} at B = {} is held again", id, Lsn.format(readPoint.lsn()));
            }
            state = State.HELD;
        } catch (StatusRuntimeException e) {
            boolean refused = e.getStatus().getCode() == Status.Code.OUT_OF_RANGE;
            if (state != (refused ? State.REFUSED : State.LAPSING)) {
                log.error(refused ? "the page server refuses the reader lease {} at B = {}: {}. Reads below its horizon fail,"
                                + " so this standby cannot go on replaying; mount a replica with a fresh --overlay-dir"
                                : "cannot renew the reader lease {} at B = {} (it lapses " + ttlSeconds + " s after the last"
                                + " renewal, and reads below the horizon then fail): {}",
                        id, Lsn.format(readPoint.lsn()), e.getStatus().getDescription() == null ? e.toString() : e.getStatus().getDescription());
            }
            state = refused ? State.REFUSED : State.LAPSING;
        } catch (RuntimeException e) {
            state = State.LAPSING;
            log.error("cannot renew the reader lease {} at B = {}: {}", id, Lsn.format(readPoint.lsn()), e.toString());
        }
    }

    /** Stops renewing and gives the claim up. */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            client.holdReader(HoldReaderRequest.newBuilder().setId(id).setRelease(true).build());
        } catch (RuntimeException e) {
            log.warn("cannot release the reader lease {} (it lapses by itself within {} s): {}", id, ttlSeconds, e.toString());
        }
    }
}
