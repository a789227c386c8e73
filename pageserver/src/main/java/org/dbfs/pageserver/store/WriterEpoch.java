package org.dbfs.pageserver.store;

/**
 * The epoch (fencing token) of the writer a mutation comes from, bound by the server around each
 * client write. {@link PageStore} compares it with the cluster's epoch under its commit lock, so
 * that once the epoch moved no older writer's mutation is applied after it. Unbound for the page
 * server's own work (packing, collection), which no fence stops.
 */
public final class WriterEpoch {
    public static final ScopedValue<Long> CALLER = ScopedValue.newInstance();

    private WriterEpoch() {}
}
