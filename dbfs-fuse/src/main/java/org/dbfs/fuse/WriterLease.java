package org.dbfs.fuse;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.dbfs.protocol.pageserver.v1.WriterLeaseReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A read-write mount's hold on the cluster's writer lease (docs/fencing.md): acquired when the
 * mount starts, which gives it the epoch every later call declares; renewed every 10 s so that
 * {@code fencectl status} can tell a live writer from a gone one; released at a clean unmount.
 * Safety never rests on the renewal: once another epoch fences this one, the page server refuses
 * every write and fsync of this mount, whether or not a renewal noticed.
 */
final class WriterLease implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WriterLease.class);
    private static final long RENEW_SECONDS = 10;

    private final PageServerClient client;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "dbfs-writer-lease");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean fenced;
    private volatile long renewedAtMs = System.currentTimeMillis();

    private WriterLease(PageServerClient client) {
        this.client = client;
    }

    /**
     * Takes the lease for this host and mount point.
     *
     * @throws IOException if another writer holds it (the message names it and what to do)
     */
    static WriterLease acquire(PageServerClient client, Path mountPoint) throws IOException {
        return acquire(client, holder(mountPoint), "this mount");
    }

    /**
     * Takes the lease for {@code holder} (a mount's is {@link #holder}); {@code who} names the
     * writer in the refusal ("this mount", "the import").
     */
    static WriterLease acquire(PageServerClient client, String holder, String who) throws IOException {
        WriterLeaseReply r;
        try {
            r = client.acquireWriter(holder);
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.FAILED_PRECONDITION) {
                throw new IOException(who + " may not write: " + e.getStatus().getDescription(), e);
            }
            throw e;
        }
        log.info("writer lease: {} writes at epoch {} on timeline {}", holder, r.getEpoch(), r.getTimeline());
        WriterLease lease = new WriterLease(client);
        lease.timer.scheduleWithFixedDelay(lease::renew, RENEW_SECONDS, RENEW_SECONDS, TimeUnit.SECONDS);
        return lease;
    }

    /** Renews the lease a promotion handed this mount (its client already declares the epoch). */
    static WriterLease adopt(PageServerClient client) {
        WriterLease lease = new WriterLease(client);
        lease.timer.scheduleWithFixedDelay(lease::renew, RENEW_SECONDS, RENEW_SECONDS, TimeUnit.SECONDS);
        return lease;
    }

    static String holder(Path mountPoint) {
        return holder(mountPoint.toAbsolutePath().normalize().toString());
    }

    /** {@code HOST:what}: the holder fencectl status shows. */
    static String holder(String what) {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "localhost";
        }
        return host + ":" + what;
    }

    /** When the lease was last taken or renewed (Unix milliseconds). */
    long renewedAtMs() {
        return renewedAtMs;
    }

    private void renew() {
        try {
            client.renewWriter(false);
            renewedAtMs = System.currentTimeMillis();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.FAILED_PRECONDITION) {
                fenced = true;
                timer.shutdown();
                log.error("this mount was FENCED at epoch {}: every write and fsync now fails with EIO. {}",
                        client.epoch(), e.getStatus().getDescription());
            } else {
                log.warn("cannot renew the writer lease (epoch {}) at {}: {}", client.epoch(), Instant.now(), e.getStatus());
            }
        }
    }

    /** Stops renewing and releases the lease (a clean unmount), unless this mount was fenced. */
    @Override
    public void close() {
        timer.shutdownNow();
        if (fenced) {
            return;
        }
        try {
            client.renewWriter(true);
        } catch (StatusRuntimeException e) {
            log.warn("cannot release the writer lease (epoch {}): {}", client.epoch(), e.getStatus());
        }
    }
}
