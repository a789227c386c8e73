package org.dbfs.fuse;

/**
 * Remembers which page server run (incarnation) acknowledged the mount's writes that are not yet
 * known to be durable, so fsync can ask the page server to vouch for exactly those: if the page
 * server restarted in between, it refuses, and the mount reports EIO instead of a false success.
 */
final class DurabilityTracker {

    /** What a sync has to cover, taken when the sync starts. */
    record Pending(long incarnation, boolean lost, long acknowledgements) {
        boolean nothingToSync() {
            return incarnation == 0 && !lost;
        }
    }

    private long pendingIncarnation; // 0 = every acknowledged write is durable
    private boolean lost;            // acknowledged writes of an earlier run may be gone; not yet reported
    private long acknowledgements;
    private long lastPendingAck;     // number of the latest acknowledgement that is not yet durable

    synchronized void acknowledged(long incarnation, boolean durable) {
        acknowledgements++;
        if (pendingIncarnation != 0 && incarnation != pendingIncarnation) {
            // The page server restarted while earlier writes were still only in its memory.
            lost = true;
            pendingIncarnation = 0;
        }
        if (!durable) {
            if (pendingIncarnation == 0) {
                pendingIncarnation = incarnation;
            }
            lastPendingAck = acknowledgements;
        }
    }

    synchronized Pending pending() {
        return new Pending(pendingIncarnation, lost, acknowledgements);
    }

    /**
     * The sync that started with {@code p} succeeded: what was acknowledged before it is durable.
     * Writes acknowledged since stay pending.
     */
    synchronized void synced(Pending p) {
        if (lastPendingAck <= p.acknowledgements() && pendingIncarnation == p.incarnation()) {
            pendingIncarnation = 0;
        }
    }

    /**
     * A loss was reported to a caller (as EIO). Like the kernel's errseq, it is reported once, so
     * that PostgreSQL's crash recovery, which fsyncs everything again, can succeed afterwards.
     */
    synchronized void lossReported(Pending p) {
        lost = false;
        if (lastPendingAck <= p.acknowledgements() && pendingIncarnation == p.incarnation()) {
            pendingIncarnation = 0;
        }
    }
}
