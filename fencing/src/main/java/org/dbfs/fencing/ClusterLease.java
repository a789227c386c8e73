package org.dbfs.fencing;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.dbfs.bucket.lease.LeaseFormatException;
import org.dbfs.bucket.lease.LeaseText;
import org.dbfs.pgformat.wal.Lsn;

/**
 * The cluster's writer lease: which PostgreSQL primary may write, under which epoch (the fencing
 * token every write carries), on which timeline. One object in the bucket, changed only by
 * conditional writes ({@link ClusterLeaseStore}); encoded as {@code key=value} lines so that what
 * an operator reads through {@code fencectl status} is what the services see.
 *
 * @param epoch          the fencing token: +1 at every change of writer (a remount is a new writer), never reused
 * @param timeline       the PostgreSQL timeline the writer of this epoch writes
 * @param state          see {@link State}
 * @param holder         the writer of this epoch ({@code host:mountpoint}), empty while none
 * @param previousHolder the writer the last fence removed, for messages
 * @param fenceLsn       F: where durable WAL ended when the last fence stopped the WAL service (0: no fence yet)
 * @param changedAt      when the lease was last written
 * @param expiresAt      a holder that has not renewed by then is presumed gone (informative: promotion never waits for it)
 * @param promoter       while promoting: the {@code fencectl promote} run doing it (empty: none, or it gave up), so
 *                       that a second run at the same time is refused while one that finds the first gone resumes
 * @param promoterUntil  the run's claim ends then even if it never says so (it died)
 */
public record ClusterLease(long epoch, int timeline, State state, String holder, String previousHolder, long fenceLsn,
                           Instant changedAt, Instant expiresAt, String promoter, Instant promoterUntil) {

    public ClusterLease(long epoch, int timeline, State state, String holder, String previousHolder, long fenceLsn,
                        Instant changedAt, Instant expiresAt) {
        this(epoch, timeline, state, holder, previousHolder, fenceLsn, changedAt, expiresAt, "", Instant.EPOCH);
    }

    public enum State {
        /** {@code holder} writes under {@code epoch}. */
        PRIMARY,
        /** The holder unmounted cleanly; any mount may take the next epoch. */
        RELEASED,
        /** The epoch was moved past the last writer; no one writes until a mount acquires or a promotion finishes. */
        FENCED,
        /** A promotion moved the epoch to {@code holder}, which is not yet writing. */
        PROMOTING;

        String text() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public boolean liveAt(Instant now) {
        return state == State.PRIMARY && now.isBefore(expiresAt);
    }

    public ClusterLease with(long newEpoch, State newState, String newHolder, Instant now, Instant expiry) {
        boolean stillPromoting = newState == State.PROMOTING && newEpoch == epoch;
        return new ClusterLease(newEpoch, timeline, newState, newHolder, previousHolder, fenceLsn, now, expiry,
                stillPromoting ? promoter : "", stillPromoting ? promoterUntil : Instant.EPOCH);
    }

    public ClusterLease withFenceLsn(long lsn) {
        return new ClusterLease(epoch, timeline, state, holder, previousHolder, lsn, changedAt, expiresAt, promoter, promoterUntil);
    }

    public ClusterLease withPreviousHolder(String previous) {
        return new ClusterLease(epoch, timeline, state, holder, previous, fenceLsn, changedAt, expiresAt, promoter, promoterUntil);
    }

    /** Claimed by the promotion run {@code run} until {@code until} (an empty run: unclaimed). */
    public ClusterLease withPromoter(String run, Instant until) {
        return new ClusterLease(epoch, timeline, state, holder, previousHolder, fenceLsn, changedAt, expiresAt, run, until);
    }

    /** Whether another promotion run than {@code run} holds a claim that has not ended at {@code now}. */
    public boolean claimedByAnotherRun(String run, Instant now) {
        return state == State.PROMOTING && !promoter.isEmpty() && !promoter.equals(run) && now.isBefore(promoterUntil);
    }

    /** What {@code fencectl status} prints, one {@code name: value} per line. */
    public String describe(Instant now) {
        StringBuilder b = new StringBuilder();
        b.append("epoch: ").append(epoch).append('\n');
        b.append("state: ").append(state.text()).append('\n');
        b.append("holder: ").append(holder.isEmpty() ? "(none)" : holder).append('\n');
        b.append("timeline: ").append(timeline).append('\n');
        b.append("fence LSN (F): ").append(fenceLsn == 0 ? "(never fenced)" : Lsn.format(fenceLsn)).append('\n');
        if (!previousHolder.isEmpty()) {
            b.append("previous holder: ").append(previousHolder).append('\n');
        }
        b.append("changed at: ").append(changedAt).append('\n');
        if (state == State.PROMOTING && !promoter.isEmpty()) {
            b.append("promoted by: ").append(promoter).append(" (claimed until ").append(promoterUntil)
                    .append(now.isBefore(promoterUntil) ? ")" : ", lapsed: the next fencectl promote resumes it)").append('\n');
        }
        if (state == State.PRIMARY) {
            b.append("expires at: ").append(expiresAt).append(now.isBefore(expiresAt) ? " (live)" : " (expired: the holder stopped renewing)")
                    .append('\n');
        }
        return b.toString();
    }

    /** One line, for messages. */
    public String summary() {
        return "epoch " + epoch + " (" + state.text() + (holder.isEmpty() ? "" : ", holder " + holder) + ", timeline "
                + timeline + (fenceLsn == 0 ? "" : ", F " + Lsn.format(fenceLsn)) + ")";
    }

    byte[] encode() {
        StringBuilder b = new StringBuilder();
        b.append("format=1\n");
        b.append("epoch=").append(epoch).append('\n');
        b.append("timeline=").append(timeline).append('\n');
        b.append("state=").append(state.text()).append('\n');
        b.append("holder=").append(holder).append('\n');
        b.append("previous_holder=").append(previousHolder).append('\n');
        b.append("fence_lsn=").append(Lsn.format(fenceLsn)).append('\n');
        b.append("changed_at=").append(changedAt).append('\n');
        b.append("expires_at=").append(expiresAt).append('\n');
        if (!promoter.isEmpty()) {
            b.append("promoter=").append(promoter).append('\n');
            b.append("promoter_until=").append(promoterUntil).append('\n');
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    static ClusterLease decode(byte[] bytes, String where) {
        Map<String, String> f = LeaseText.parse(bytes);
        try {
            if (!"1".equals(f.get("format"))) {
                throw new IllegalArgumentException("format=" + f.get("format") + " (this build reads format=1)");
            }
            State state = State.valueOf(LeaseText.require(f, "state").toUpperCase(java.util.Locale.ROOT));
            return new ClusterLease(Long.parseLong(LeaseText.require(f, "epoch")),
                    Integer.parseInt(LeaseText.require(f, "timeline")), state, LeaseText.require(f, "holder"),
                    LeaseText.require(f, "previous_holder"), Lsn.parse(LeaseText.require(f, "fence_lsn")),
                    Instant.parse(LeaseText.require(f, "changed_at")), Instant.parse(LeaseText.require(f, "expires_at")),
                    f.getOrDefault("promoter", ""), Instant.parse(f.getOrDefault("promoter_until", Instant.EPOCH.toString())));
        } catch (RuntimeException e) {
            throw new LeaseFormatException("the cluster lease " + where + " does not parse: " + e.getMessage(), e);
        }
    }
}
