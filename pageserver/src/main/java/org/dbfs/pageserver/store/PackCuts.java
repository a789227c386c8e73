package org.dbfs.pageserver.store;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Where a pack may end so that it holds about a chunk of data: after an outage the journal can
 * hold gigabytes, and one pack of all of it would need that much memory. Every eighth of a chunk
 * of appended data leaves a mark (journal seq, data appended so far, highest page LSN so far); a
 * pack ends at the last mark within a chunk of where the previous one ended, or at the last
 * record if all of it fits. A few marks per chunk of journal: a small map, not a per-write cost.
 *
 * <p>Not thread-safe: callers hold the page store's commit lock.
 */
final class PackCuts {
    private final long chunkBytes;
    private final long step;
    private final ConcurrentSkipListMap<Long, long[]> marks = new ConcurrentSkipListMap<>(); // seq -> {bytes, maxLsn}
    private long appended; // data bytes appended since start
    private long nextMark;

    PackCuts(long chunkBytes) {
        this.chunkBytes = Math.max(chunkBytes, 1);
        this.step = Math.max(this.chunkBytes / 8, 1);
    }

    /** The packed state at start: packs measure from here. */
    void start(long packedSeq) {
        marks.put(packedSeq, new long[] {0, 0});
        nextMark = step;
    }

    void appended(long seq, long bytes, long maxLsn) {
        appended += bytes;
        if (appended >= nextMark) {
            marks.put(seq, new long[] {appended, maxLsn});
            nextMark = appended + step;
        }
    }

    /**
     * Where the next pack after {@code packedSeq} ends: {@code lastSeq} if the data between fits a
     * chunk, else the last mark within a chunk (at least the first mark, so that a pack always moves).
     */
    long cut(long packedSeq, long lastSeq) {
        Map.Entry<Long, long[]> base = marks.floorEntry(packedSeq);
        long from = base == null ? 0 : base.getValue()[0];
        if (appended - from <= chunkBytes) {
            return lastSeq;
        }
        long cut = -1;
        for (Map.Entry<Long, long[]> m : marks.tailMap(packedSeq, false).entrySet()) {
            if (m.getKey() >= lastSeq) {
                break;
            }
            if (cut != -1 && m.getValue()[0] - from > chunkBytes) {
                break;
            }
            cut = m.getKey();
        }
        return cut == -1 ? lastSeq : cut;
    }

    /** The highest page LSN written up to the mark at {@code seq} (a cut {@link #cut} returned short of the last record). */
    long maxLsnAt(long seq) {
        long[] m = marks.get(seq);
        return m == null ? 0 : m[1];
    }

    /** A pack ended at {@code seq}: marks before it are no longer needed, and it becomes a base. */
    void packed(long seq, long maxLsn) {
        Map.Entry<Long, long[]> at = marks.floorEntry(seq);
        long bytes = at == null ? 0 : at.getValue()[0];
        marks.headMap(seq, false).clear();
        marks.putIfAbsent(seq, new long[] {bytes, maxLsn});
    }
}
