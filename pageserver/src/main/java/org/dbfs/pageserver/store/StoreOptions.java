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
 * @param gc                garbage collection policy
 * @param maxUnpackedBytes  writes wait while more than this many bytes wait to be packed (an
 *                          unreachable bucket); they are in the journal on disk, and in memory
 *                          only a version entry each (about 2.5 % of the bytes)
 * @param cachedIndexBlocks how many blocks' packed versions the version index keeps in memory
 *                          (the rest are read from its on-disk copy)
 * @param recentWriteBytes  bytes of the latest unpacked writes kept in memory (older ones are read
 *                          back from the journal)
 */
public record StoreOptions(Path cacheDir, long packBytes, Duration packInterval, long memoryCacheBytes,
                           long journalRollBytes, Duration leaseTtl, boolean acceptJournalLoss, Duration drainTimeout,
                           GcOptions gc, long maxUnpackedBytes, long cachedIndexBlocks,
                           long recentWriteBytes) {

    /**
     * Sized from the heap where the heap holds them: opened frames 512 MiB or an eighth of the heap;
     * unpacked writes (on disk in the journal, a ~200-byte version entry each in memory) at most
     * 4 GiB or twice the heap, packed every 64 MiB or sixteenth of the heap (a pack holds its
     * data in memory, one and a half of these at most), the latest 256 MiB or sixteenth of the heap of them kept in memory; the
     * version index caches one block per 4 KiB of heap (a cached block costs about 150 bytes).
     */
    public static StoreOptions defaults(Path cacheDir) {
        long heap = Runtime.getRuntime().maxMemory();
        return new StoreOptions(cacheDir, Math.min(64L << 20, heap / 16), Duration.ofSeconds(30),
                Math.min(512L << 20, heap / 8), 128L << 20,
                Duration.ofSeconds(30), false, Duration.ofSeconds(60), GcOptions.defaults(),
                Math.min(4L << 30, heap * 2), Math.max(4096, heap / 4096), Math.min(256L << 20, heap / 16));
    }

    public StoreOptions withGc(GcOptions policy) {
        return new StoreOptions(cacheDir, packBytes, packInterval, memoryCacheBytes, journalRollBytes, leaseTtl,
                acceptJournalLoss, drainTimeout, policy, maxUnpackedBytes, cachedIndexBlocks, recentWriteBytes);
    }

    public StoreOptions withPacking(long bytes, Duration interval) {
        return new StoreOptions(cacheDir, bytes, interval, memoryCacheBytes, journalRollBytes, leaseTtl,
                acceptJournalLoss, drainTimeout, gc, maxUnpackedBytes, cachedIndexBlocks, recentWriteBytes);
    }

    public StoreOptions withLease(Duration ttl, boolean acceptLoss) {
        return new StoreOptions(cacheDir, packBytes, packInterval, memoryCacheBytes, journalRollBytes, ttl,
                acceptLoss, drainTimeout, gc, maxUnpackedBytes, cachedIndexBlocks, recentWriteBytes);
    }

    public StoreOptions withDrainTimeout(Duration timeout) {
        return new StoreOptions(cacheDir, packBytes, packInterval, memoryCacheBytes, journalRollBytes, leaseTtl,
                acceptJournalLoss, timeout, gc, maxUnpackedBytes, cachedIndexBlocks, recentWriteBytes);
    }

    public StoreOptions withMaxUnpacked(long bytes) {
        return new StoreOptions(cacheDir, packBytes, packInterval, memoryCacheBytes, journalRollBytes, leaseTtl,
                acceptJournalLoss, drainTimeout, gc, bytes, cachedIndexBlocks, recentWriteBytes);
    }

    public StoreOptions withCachedIndexBlocks(long blocks) {
        return new StoreOptions(cacheDir, packBytes, packInterval, memoryCacheBytes, journalRollBytes, leaseTtl,
                acceptJournalLoss, drainTimeout, gc, maxUnpackedBytes, blocks, recentWriteBytes);
    }

    public StoreOptions withRecentWriteBytes(long bytes) {
        return new StoreOptions(cacheDir, packBytes, packInterval, memoryCacheBytes, journalRollBytes, leaseTtl,
                acceptJournalLoss, drainTimeout, gc, maxUnpackedBytes, cachedIndexBlocks, bytes);
    }

    /** The version index's on-disk part: derived from the bucket, rebuilt at every start. */
    public Path versionIndexDir() {
        return cacheDir.resolve("version-index");
    }

    public Path journalDir() {
        return cacheDir.resolve("journal");
    }

    public Path segmentCacheDir() {
        return cacheDir.resolve("segments");
    }
}
