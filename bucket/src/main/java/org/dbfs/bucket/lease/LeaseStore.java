package org.dbfs.bucket.lease;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStoreException;
import org.dbfs.bucket.objectstore.PreconditionFailedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A lease kept in one bucket object and changed only by conditional writes (create-if-absent,
 * replace-if-ETag-matches), so that of several contenders exactly one moves it, and a holder learns
 * that it lost the lease at its next renewal. No clock is trusted for safety: expiry only lets a new
 * holder <em>try</em> to take over, and the generation it then writes is the fencing token that the
 * old holder's later conditional writes fail against. Time comes from an injected source so tests
 * run on fake time.
 *
 * <p>The policy (whom to refuse) is the caller's; this class reads, takes, renews and releases.
 * Thread-safe for one holder: {@link Held} serializes its own writes.
 */
public final class LeaseStore {
    private static final Logger log = LoggerFactory.getLogger(LeaseStore.class);

    private final ObjectStore store;
    private final FrameCodec codec;
    private final String objectName; // the lease's name in its bucket: what its seal binds
    private final String key;        // where it is in this store: objectName, under a prefix for a bucket inside another
    private final InstantSource clock;
    private final Duration ttl;

    public LeaseStore(ObjectStore store, FrameCodec codec, String objectName, InstantSource clock, Duration ttl) {
        this(store, "", codec, objectName, clock, ttl);
    }

    private LeaseStore(ObjectStore store, String prefix, FrameCodec codec, String objectName, InstantSource clock, Duration ttl) {
        this.store = store;
        this.codec = codec;
        this.objectName = objectName;
        this.key = prefix + objectName;
        this.clock = clock;
        this.ttl = ttl;
    }

    /**
     * Lease {@code objectName} of the bucket that lies at {@code prefix} inside {@code store} (a
     * branch's, seen from its parent's bucket; same key): for reading it, as that bucket seals it.
     */
    public static LeaseStore under(ObjectStore store, String prefix, FrameCodec codec, String objectName, InstantSource clock) {
        return new LeaseStore(store, prefix, codec, objectName, clock, Duration.ZERO);
    }

    /** The lease as it is in the bucket, with the ETag a take-over must match. */
    public record Current(Lease lease, String etag) {}

    public Optional<Current> read() {
        return store.getVersioned(key).map(v -> new Current(
                Lease.decode(codec.open(v.data(), associatedData(), where()), where()), v.etag()));
    }

    public Instant now() {
        return clock.instant();
    }

    /**
     * Writes a new lease over {@code previous} (null: the object must not exist yet), with a
     * generation above both the previous one and {@code atLeastAbove}.
     *
     * @throws LeaseLostException if the object changed since {@code previous} was read
     */
    public Held take(Current previous, long atLeastAbove, String holder, String journal, String cacheDir) {
        long generation = Math.max(previous == null ? 0 : previous.lease().generation(), atLeastAbove) + 1;
        Instant now = clock.instant();
        Lease lease = new Lease(generation, holder, journal, cacheDir, false, now, now.plus(ttl));
        String etag;
        try {
            byte[] sealed = seal(lease);
            etag = previous == null ? store.putIfAbsent(key, sealed)
                    : store.putIfMatch(key, sealed, previous.etag());
        } catch (PreconditionFailedException e) {
            throw new LeaseLostException("another process changed the lease " + where()
                    + " while this one was taking it; it was not taken", e);
        }
        return new Held(lease, etag);
    }

    private byte[] seal(Lease lease) {
        return codec.seal(lease.encode(), associatedData());
    }

    private byte[] associatedData() {
        return FrameCodec.associatedData(objectName, 0);
    }

    private String where() {
        return key + " in " + store.describe();
    }

    /** A lease this process holds. */
    public final class Held implements AutoCloseable {
        private Lease lease;
        private String etag;
        private volatile boolean lost;
        private ScheduledExecutorService renewer;

        private Held(Lease lease, String etag) {
            this.lease = lease;
            this.etag = etag;
        }

        public synchronized Lease lease() {
            return lease;
        }

        public long generation() {
            return lease().generation();
        }

        /**
         * Moves the expiry forward.
         *
         * @throws LeaseLostException if someone else wrote the lease object since (taken over)
         */
        public synchronized void renew() {
            if (lost) {
                throw new LeaseLostException("the lease " + where() + " (generation " + lease.generation() + ") was lost before", null);
            }
            Instant now = clock.instant();
            writeOver(lease.renewed(now, now.plus(ttl)));
        }

        /** Caller holds this: replaces the lease object if it is still the one this holder wrote last. */
        private void writeOver(Lease next) {
            try {
                etag = store.putIfMatch(key, seal(next), etag);
            } catch (PreconditionFailedException e) {
                lost = true;
                throw new LeaseLostException(lostMessage(), e);
            }
            lease = next;
        }

        private String lostMessage() {
            String now = read().map(c -> c.lease().describe()).orElse("absent");
            return "the lease " + where() + " of generation " + lease.generation()
                    + " was taken over by another process (it is now: " + now + ")";
        }

        /**
         * Renews every {@code ttl / 3} on a daemon thread. A failure to reach the bucket is logged and
         * retried at the next tick; a lost lease is handed to {@code onLost} once and renewal stops.
         */
        public synchronized void renewInBackground(Consumer<LeaseLostException> onLost) {
            long periodMs = Math.max(1, ttl.toMillis() / 3);
            renewer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "lease-renewer");
                t.setDaemon(true);
                return t;
            });
            renewer.scheduleWithFixedDelay(() -> {
                try {
                    renew();
                } catch (LeaseLostException e) {
                    renewer.shutdown();
                    onLost.accept(e);
                } catch (ObjectStoreException e) {
                    log.warn("renewing the lease {} failed, will retry in {} ms: {}", where(), periodMs, e.getMessage());
                } catch (RuntimeException e) {
                    log.error("renewing the lease {} failed unexpectedly; will retry", where(), e);
                }
            }, periodMs, periodMs, TimeUnit.MILLISECONDS);
        }

        private synchronized void stopRenewing() {
            if (renewer != null) {
                renewer.shutdownNow();
                try {
                    renewer.awaitTermination(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                renewer = null;
            }
        }

        /** Marks the lease released (a clean stop): the next holder needs no expiry to pass. */
        public void release() {
            stopRenewing();
            synchronized (this) {
                if (!lost) {
                    writeOver(lease.releasedAt(clock.instant()));
                }
            }
        }

        /** Stops renewing without releasing: the lease runs out at its expiry. */
        @Override
        public void close() {
            stopRenewing();
        }
    }
}
