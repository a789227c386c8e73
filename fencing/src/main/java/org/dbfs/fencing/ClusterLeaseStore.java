package org.dbfs.fencing;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Optional;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.PreconditionFailedException;

/**
 * Reads and moves the cluster lease ({@link ClusterLease}) by conditional writes only
 * (create-if-absent, replace-if-ETag-matches): of two processes moving it from the same state,
 * exactly one succeeds and the other gets {@link LeaseChangedException} having changed nothing.
 * The bucket is the only arbiter; no clock decides who may write, expiry is for people.
 *
 * <p>The transitions (who may take the lease from whom) are here too, so the page server (for
 * mounts) and fencectl apply the same rules.
 */
public final class ClusterLeaseStore {
    private final ObjectStore store;
    private final String key; // the object: CLUSTER_LEASE, under a prefix for a bucket inside another
    private final FrameCodec codec;
    private final InstantSource clock;
    private final Duration ttl;

    public ClusterLeaseStore(ObjectStore store, FrameCodec codec, InstantSource clock, Duration ttl) {
        this(store, "", codec, clock, ttl);
    }

    private ClusterLeaseStore(ObjectStore store, String prefix, FrameCodec codec, InstantSource clock, Duration ttl) {
        this.store = store;
        this.key = prefix + BucketLayout.CLUSTER_LEASE;
        this.codec = codec;
        this.clock = clock;
        this.ttl = ttl;
    }

    /**
     * The lease of the bucket that lies at {@code prefix} inside {@code store} (a branch's, seen from
     * its parent's bucket; same key): sealed as that bucket seals it, under its own name there.
     */
    public static ClusterLeaseStore under(ObjectStore store, String prefix, FrameCodec codec, InstantSource clock,
                                          Duration ttl) {
        return new ClusterLeaseStore(store, prefix, codec, clock, ttl);
    }

    /** The lease as it is in the bucket, with the ETag a change must match. */
    public record Current(ClusterLease lease, String etag) {}

    public Optional<Current> read() {
        return store.getVersioned(key).map(v -> new Current(
                ClusterLease.decode(codec.open(v.data(), associatedData(), where()), where()), v.etag()));
    }

    public Instant now() {
        return clock.instant();
    }

    public Duration ttl() {
        return ttl;
    }

    /**
     * Replaces {@code previous} (null: the object must not exist) with {@code next}.
     *
     * @throws LeaseChangedException if the object changed since {@code previous} was read
     */
    public Current write(Current previous, ClusterLease next) {
        byte[] sealed = codec.seal(next.encode(), associatedData());
        try {
            String etag = previous == null ? store.putIfAbsent(key, sealed)
                    : store.putIfMatch(key, sealed, previous.etag());
            return new Current(next, etag);
        } catch (PreconditionFailedException e) {
            String now = read().map(c -> c.lease().summary()).orElse("absent");
            throw new LeaseChangedException("another process changed the cluster lease " + where() + " first (it is now "
                    + now + "); nothing was changed by this one", e);
        }
    }

    /**
     * A mount becoming the writer: the next epoch, for {@code holder}. Allowed when there is no
     * lease yet (epoch 1, timeline 1), when the lease is released or fenced, when {@code holder}
     * holds it already (a remount: the new epoch fences the old mount process), or when a promotion
     * is handing it to {@code holder}.
     *
     * @throws WriterRefusedException when another writer holds it
     */
    public Current acquire(String holder) {
        Optional<Current> current = read();
        Instant now = clock.instant();
        if (current.isEmpty()) {
            return write(null, new ClusterLease(1, 1, ClusterLease.State.PRIMARY, holder, "", 0, now, now.plus(ttl)));
        }
        ClusterLease l = current.get().lease();
        boolean mine = l.holder().equals(holder);
        switch (l.state()) {
            case PRIMARY, PROMOTING -> {
                if (!mine) {
                    throw new WriterRefusedException("the cluster's writer is " + l.holder() + " at epoch " + l.epoch()
                            + " (" + l.state().name().toLowerCase(java.util.Locale.ROOT) + ", changed at " + l.changedAt()
                            + "); a second read-write mount is refused. Stop that mount cleanly, or fence it "
                            + "(fencectl fence / fencectl promote), or mount this one read-only");
                }
            }
            case RELEASED, FENCED -> { }
        }
        ClusterLease next = l.with(l.epoch() + 1, ClusterLease.State.PRIMARY, holder, now, now.plus(ttl));
        if (!mine && !l.holder().isEmpty()) {
            next = next.withPreviousHolder(l.holder());
        }
        return write(current.get(), next);
    }

    /**
     * The writer of {@code epoch} renewing (or, with {@code release}, giving up) its lease.
     *
     * @throws WriterRefusedException when the lease moved past {@code epoch}: the caller is fenced
     */
    public Current renew(long epoch, boolean release) {
        Current current = read().orElseThrow(() -> new WriterRefusedException("the cluster lease " + where()
                + " is gone; epoch " + epoch + " cannot be renewed"));
        ClusterLease l = current.lease();
        boolean writer = l.state() == ClusterLease.State.PRIMARY || l.state() == ClusterLease.State.PROMOTING;
        if (l.epoch() != epoch || !writer) {
            throw new WriterRefusedException("epoch " + epoch + " was fenced: the cluster lease is now " + l.summary());
        }
        Instant now = clock.instant();
        // A promoted mount renews while fencectl has not yet finished the promotion: the state stays.
        ClusterLease next = release ? l.with(epoch, ClusterLease.State.RELEASED, l.holder(), now, now)
                : l.with(epoch, l.state(), l.holder(), now, now.plus(ttl));
        return write(current, next);
    }

    /**
     * Moves the epoch past the current writer, leaving no writer (fencectl fence). A lease already
     * fenced and without F yet is returned as it is, so a fence that failed half-way resumes.
     *
     * @throws WriterRefusedException when there is no lease (nothing ever wrote)
     */
    public Current fence() {
        Current current = read().orElseThrow(() -> new WriterRefusedException("there is no cluster lease in " + where()
                + ": no read-write mount ever started on this bucket, so there is nothing to fence"));
        ClusterLease l = current.lease();
        if (l.state() == ClusterLease.State.FENCED && l.fenceLsn() == 0) {
            return current;
        }
        Instant now = clock.instant();
        ClusterLease next = l.with(l.epoch() + 1, ClusterLease.State.FENCED, "", now, now).withFenceLsn(0);
        if (!l.holder().isEmpty()) {
            next = next.withPreviousHolder(l.holder());
        }
        return write(current, next);
    }

    /**
     * Moves the epoch to {@code holder} for a promotion (state {@code promoting}) claimed by the
     * promotion run {@code run} until now + {@code claim}: the fence and the choice of the next
     * writer in one conditional write. A promotion of the same holder left unfinished is resumed
     * (same epoch, claimed by {@code run}) once no other run holds a live claim on it.
     *
     * @throws WriterRefusedException when there is no lease, {@code holder} is the primary already,
     *                                another promotion is under way, or another run is doing this one
     */
    public Current promote(String holder, String run, Duration claim) {
        Current current = read().orElseThrow(() -> new WriterRefusedException("there is no cluster lease in " + where()
                + ": no primary ever wrote to this bucket, so there is nothing to take over"));
        ClusterLease l = current.lease();
        Instant now = clock.instant();
        if (l.state() == ClusterLease.State.PROMOTING) {
            if (!l.holder().equals(holder)) {
                throw new WriterRefusedException("another promotion, of " + l.holder() + " at epoch " + l.epoch()
                        + ", is under way (started " + l.changedAt() + "); finish it, or fence it with fencectl fence");
            }
            if (l.claimedByAnotherRun(run, now)) {
                throw new WriterRefusedException("another fencectl promote (" + l.promoter() + ") is promoting " + holder
                        + " at epoch " + l.epoch() + " right now (claimed until " + l.promoterUntil() + "); this one changed nothing."
                        + " If that run died, run this again after " + l.promoterUntil() + " to finish its promotion");
            }
            return write(current, l.withPromoter(run, now.plus(claim)));
        }
        if (l.state() == ClusterLease.State.PRIMARY && l.holder().equals(holder)) {
            throw new WriterRefusedException(holder + " is the primary already, at epoch " + l.epoch() + " on timeline "
                    + l.timeline() + "; nothing to promote");
        }
        ClusterLease next = l.with(l.epoch() + 1, ClusterLease.State.PROMOTING, holder, now, now.plus(ttl)).withFenceLsn(0)
                .withPromoter(run, now.plus(claim));
        if (!l.holder().isEmpty()) {
            next = next.withPreviousHolder(l.holder());
        }
        return write(current, next);
    }

    /**
     * The run {@code run} gives its claim on an unfinished promotion up (it failed), so that the
     * next run resumes at once. Best effort: a claim that is not this run's, or a lease that moved,
     * is left as it is; an unreleased claim ends by itself.
     */
    public void releaseClaim(String run) {
        read().ifPresent(c -> {
            ClusterLease l = c.lease();
            if (l.state() == ClusterLease.State.PROMOTING && l.promoter().equals(run)) {
                try {
                    write(c, l.withPromoter("", Instant.EPOCH));
                } catch (LeaseChangedException ignored) {
                    // moved meanwhile: whoever moved it decides
                }
            }
        });
    }

    /**
     * The promoted writer of {@code epoch} is writing on {@code timeline}: state {@code primary},
     * the run's claim gone. Read afresh, since the promoted mount renews the lease meanwhile.
     *
     * @throws WriterRefusedException if the lease moved past this promotion
     */
    public Current finishPromotion(long epoch, String holder, int timeline) {
        for (int attempt = 1; ; attempt++) {
            Current current = read().orElseThrow(() -> new WriterRefusedException("the cluster lease " + where() + " is gone"));
            ClusterLease l = current.lease();
            if (l.epoch() != epoch || !l.holder().equals(holder)
                    || (l.state() != ClusterLease.State.PROMOTING && l.state() != ClusterLease.State.PRIMARY)) {
                throw new WriterRefusedException("the promotion of " + holder + " at epoch " + epoch + " was overtaken: the lease is now "
                        + l.summary());
            }
            Instant now = clock.instant();
            try {
                return write(current, new ClusterLease(l.epoch(), timeline, ClusterLease.State.PRIMARY, l.holder(), l.previousHolder(),
                        l.fenceLsn(), now, now.plus(ttl)));
            } catch (LeaseChangedException e) {
                if (attempt == 5) {
                    throw e;
                }
            }
        }
    }

    /** Records F in a lease this process just moved. */
    public Current recordFenceLsn(Current current, long fenceLsn) {
        return write(current, current.lease().withFenceLsn(fenceLsn));
    }

    private static byte[] associatedData() {
        return FrameCodec.associatedData(BucketLayout.CLUSTER_LEASE, 0);
    }

    public String where() {
        return key + " in " + store.describe();
    }
}
