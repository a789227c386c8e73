package org.dbfs.pageserver.store;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Tuning of one page store.
 *
 * @param cacheDir          local directory: the journal (durable, not disposable until packed) and
 *                          the segment cache (disposable)
 * @param packBytes         pack unpacked versions into a segment once they exceed this many bytes
 * @param packInterval      ... or once this much time has passed since the last pack
 * @param memoryCacheBytes  bytes of opened frames kept in memory
 * @param leaseTtl          the writer lease's time to live; renewed every third of it
 * @param acceptJournalLoss start on a bucket whose unpacked writes are in a journal this store
 *                          does not have, giving them up (never the default)
 * @param drainTimeout      how long a clean stop keeps trying to pack into an unreachable bucket
 */
public record StoreOptions(Path cacheDir, long packBytes, Duration packInterval, long memoryCacheBytes,
                           long journalRollBytes, Duration leaseTtl, boolean acceptJournalLoss, Duration drainTimeout) {

    public static StoreOptions defaults(Path cacheDir) {
        return new StoreOptions(cacheDir, 64L << 20, Duration.ofSeconds(30), 512L << 20, 128L << 20,
                Duration.ofSeconds(30), false, Duration.ofSeconds(60));
    }

    public StoreOptions withPacking(long bytes, Duration interval) {
        return new StoreOptions(cacheDir, bytes, interval, memoryCacheBytes, journalRollBytes, leaseTtl,
                acceptJournalLoss, drainTimeout);
    }

    public StoreOptions withLease(Duration ttl, boolean acceptLoss) {
        return new StoreOptions(cacheDir, packBytes, packInterval, memoryCacheBytes, journalRollBytes, ttl,
                acceptLoss, drainTimeout);
    }

    public StoreOptions withDrainTimeout(Duration timeout) {
        return new StoreOptions(cacheDir, packBytes, packInterval, memoryCacheBytes, journalRollBytes, leaseTtl,
                acceptJournalLoss, timeout);
    }

    public Path journalDir() {
        return cacheDir.resolve("journal");
    }

    public Path segmentCacheDir() {
        return cacheDir.resolve("segments");
    }
}
