package org.dbfs.pageserver.segment;

import java.util.concurrent.atomic.LongAdder;

/**
 * Where stored bytes were read from, counted for the metrics' cache hit ratios: the journal (an
 * unpacked write), the in-memory frame cache, a segment copy in the cache directory, or the bucket.
 */
public final class ReadCounts {
    final LongAdder journal = new LongAdder();
    final LongAdder memory = new LongAdder();
    final LongAdder localSegment = new LongAdder();
    final LongAdder bucket = new LongAdder();

    public void journalRead() {
        journal.increment();
    }

    public long journal() {
        return journal.sum();
    }

    public long memory() {
        return memory.sum();
    }

    public long localSegment() {
        return localSegment.sum();
    }

    public long bucket() {
        return bucket.sum();
    }
}
