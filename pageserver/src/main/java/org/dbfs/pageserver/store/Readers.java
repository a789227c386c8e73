package org.dbfs.pageserver.store;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.dbfs.bucket.lease.ReaderLease;
import org.dbfs.bucket.lease.ReaderLeases;
import org.dbfs.pgformat.wal.Lsn;

/**
 * Readers' claims on history, registered through the page server (a read-only mount has no bucket
 * access of its own): each is a {@link ReaderLease} in the bucket, which garbage collection honours.
 *
 * <p>A claim must never arrive after the versions it protects are gone. So registering and the
 * collector's "list the claims, move the horizon" step exclude each other: a claim is either listed
 * by that step or checked against the horizon it published, and a claim below the horizon is refused.
 */
public final class Readers {
    private final PageStore ps;
    final ReaderLeases leases;
    final Object horizonLock = new Object();
    // The claims renewed through this page server, with when: what status and metrics show (a
    // bucket listing would cost a request per scrape, and would not say when each was renewed).
    private final Map<String, Renewed> renewed = new ConcurrentHashMap<>();

    /** A reader's claim as last renewed here, at {@code renewedAt}. */
    public record Renewed(ReaderLease lease, Instant renewedAt) {}

    Readers(PageStore ps, ReaderLeases leases) {
        this.ps = ps;
        this.leases = leases;
    }

    /**
     * Registers or renews reader {@code id}'s claim on reads at {@code lsn} and later, for {@code ttl}.
     *
     * @throws BeforeHorizonException if {@code lsn} is below the retention horizon already
     */
    public ReaderLease hold(String id, long lsn, String holder, Duration ttl) {
        synchronized (horizonLock) {
            Horizon h = ps.horizon;
            if (Long.compareUnsigned(lsn, h.lsn()) < 0) {
                throw new BeforeHorizonException("reader " + id + " (" + holder + ") asks to keep reads at "
                        + Lsn.format(lsn) + " possible, but the retention horizon is already " + h + ": what such reads"
                        + " need may be collected. Start the reader afresh (a replica: a new --overlay-dir)");
            }
            ReaderLease held = leases.hold(id, lsn, holder, ttl);
            renewed.put(id, new Renewed(held, ps.clock.instant()));
            return held;
        }
    }

    /** The claims renewed here and not yet expired or released, by id. */
    public List<Renewed> live() {
        Instant now = ps.clock.instant();
        renewed.values().removeIf(r -> !r.lease().liveAt(now));
        List<Renewed> out = new ArrayList<>(renewed.values());
        out.sort(Comparator.comparing(r -> r.lease().id()));
        return out;
    }

    /** Gives reader {@code id}'s claim up. */
    public void release(String id) {
        renewed.remove(id);
        leases.release(id);
    }
}
