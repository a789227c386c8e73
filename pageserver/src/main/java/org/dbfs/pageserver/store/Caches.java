package org.dbfs.pageserver.store;

import com.github.benmanes.caffeine.cache.Caffeine;

/** How the page server builds its in-memory caches. */
public final class Caches {
    private Caches() {}

    /**
     * A Caffeine builder whose upkeep (draining its buffers, evicting) runs on the calling thread.
     * By default Caffeine hands that to the common ForkJoinPool after writes: on these 2-vCPU
     * machines a thread wake-up, measured at about two context switches per pgbench transaction.
     */
    public static Caffeine<Object, Object> newBuilder() {
        return Caffeine.newBuilder().executor(Runnable::run);
    }
}
