package org.dbfs.pageserver.store;

import java.util.concurrent.atomic.LongAdder;

/**
 * The cluster's writer epoch as the page store knows it, and the epoch of the writer a mutation
 * comes from ({@link #CALLER}, bound by the server around each client write). {@link PageStore}
 * compares the two under its commit lock, and moves the epoch only under that lock, so that once
 * the epoch moved no older writer's mutation is applied after it. {@link #CALLER} is unbound for
 * the page server's own work (packing, collection), which no fence stops.
 */
public final class WriterEpoch {
    public static final ScopedValue<Long> CALLER = ScopedValue.newInstance();

    private volatile long floor;
    private final LongAdder refusals = new LongAdder();

    long current() {
        return floor;
    }

    long refusals() {
        return refusals.sum();
    }

    /** Caller holds the commit lock. @return whether it moved */
    boolean raise(long epoch) {
        if (epoch <= floor) {
            return false;
        }
        floor = epoch;
        return true;
    }

    /**
     * Refuses a writer of an epoch older than the cluster's. A client that declared no epoch (0)
     * passes only while no cluster lease exists.
     *
     * @throws StaleEpochException if {@code epoch} was fenced
     */
    void check(long epoch) {
        long f = floor;
        if (epoch < f) {
            refusals.increment();
            throw new StaleEpochException(epoch == 0
                    ? "refused: this client declared no writer epoch, and the cluster's writer epoch is " + f
                    + " (a read-write mount acquires one; see fencectl status)"
                    : "fenced: this writer's epoch " + epoch + " is older than the cluster's epoch " + f
                    + "; another primary took over (fencectl status). Nothing from this writer is accepted any more");
        }
    }
}
