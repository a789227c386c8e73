package org.dbfs.pageserver.store;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Tuning of one page store.
 *
 * @param cacheDir         local directory: the journal (durable, not disposable until packed) and
 *                         the segment cache (disposable)
 * @param packBytes        pack unpacked versions into a segment once they exceed this many bytes
 * @param packInterval     ... or once this much time has passed since the last pack
 * @param memoryCacheBytes bytes of opened frames kept in memory
 */
public record StoreOptions(Path cacheDir, long packBytes, Duration packInterval, long memoryCacheBytes,
                           long journalRollBytes) {

    public static StoreOptions defaults(Path cacheDir) {
        return new StoreOptions(cacheDir, 64L << 20, Duration.ofSeconds(30), 512L << 20, 128L << 20);
    }

    public StoreOptions withPacking(long bytes, Duration interval) {
        return new StoreOptions(cacheDir, bytes, interval, memoryCacheBytes, journalRollBytes);
    }

    public Path journalDir() {
        return cacheDir.resolve("journal");
    }

    public Path segmentCacheDir() {
        return cacheDir.resolve("segments");
    }
}
