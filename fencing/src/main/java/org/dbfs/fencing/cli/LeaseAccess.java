package org.dbfs.fencing.cli;

import java.time.Clock;
import java.time.Duration;
import org.dbfs.bucket.cli.BucketOptions;
import org.dbfs.bucket.crypto.BucketKeys;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.fencing.ClusterLeaseStore;

/** The bucket opened with its passphrase, and the cluster lease in it. */
final class LeaseAccess implements AutoCloseable {
    /** The TTL mounts use; fencectl never writes a PRIMARY lease itself, so it only labels expiry. */
    static final Duration TTL = Duration.ofSeconds(30);

    final ObjectStore store;
    final ClusterLeaseStore leases;

    LeaseAccess(BucketOptions bucket) {
        this.store = bucket.open();
        try {
            store.checkReachable();
            this.leases = new ClusterLeaseStore(store, BucketKeys.openExisting(store, bucket.passphrase()), Clock.systemUTC(), TTL);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    @Override
    public void close() {
        store.close();
    }
}
