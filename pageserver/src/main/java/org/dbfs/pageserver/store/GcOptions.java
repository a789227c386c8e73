package org.dbfs.pageserver.store;

import java.time.Duration;

/**
 * Garbage collection policy (see {@link GarbageCollector}).
 *
 * @param retention           versions needed to read any LSN written within this window are kept
 *                            (a point-in-time window; 0 keeps only what the newest state needs)
 * @param interval            how often a collection runs (after a pack)
 * @param grace               an object no manifest names is deleted this long after it was first
 *                            seen unnamed, so that a reader holding an older manifest finishes
 * @param rewriteBelowLive    a segment whose live bytes fall below this fraction of its size is
 *                            rewritten with only its live versions
 * @param maxRewriteBytes     at most this many segment bytes are rewritten by one collection
 */
public record GcOptions(Duration retention, Duration interval, Duration grace, double rewriteBelowLive,
                        long maxRewriteBytes) {
    /** A rewrite builds its segment in memory: at most 256 MiB or a sixteenth of the heap of it. */
    public static GcOptions defaults() {
        return new GcOptions(Duration.ofHours(24), Duration.ofSeconds(60), Duration.ofSeconds(60), 0.5,
                Math.min(256L << 20, Runtime.getRuntime().maxMemory() / 16));
    }

    public GcOptions withRetention(Duration window) {
        return new GcOptions(window, interval, grace, rewriteBelowLive, maxRewriteBytes);
    }

    public GcOptions withTiming(Duration every, Duration graceTime) {
        return new GcOptions(retention, every, graceTime, rewriteBelowLive, maxRewriteBytes);
    }
}
