package org.dbfs.pageserver.store;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.dbfs.pageserver.format.WalWriteMark;

/**
 * When the current timeline's writer wrote WAL where: the journal seqs at which the end of the
 * non-zero WAL bytes in its pg_wal rose, each with that end. A promotion branches at an LSN X and
 * asks for the first seq whose WAL ended past X ({@link #firstSeqPast}): from that write on, a page
 * version of the old writer may carry effects of WAL the new timeline does not have under a pd_lsn
 * at or below X (a hint bit of a commit past X does not move the page's LSN), so the new timeline
 * does not see the old one's versions from there ({@link Timelines}).
 *
 * <p>Block versions cannot tell that seq afterwards: a later write of a WAL page replaces the
 * earlier unpacked version, seq included. So the marks are taken as writes are applied (live and
 * in journal replay), kept in the manifest for what was packed, and trimmed to what WAL the WAL
 * service has not yet made durable: a promotion branches at or after that.
 *
 * <p>Growth is bounded: past {@link #MAX_MARKS} neighbouring marks merge into the earlier seq with
 * the later LSN, which can only move a cut earlier (more versions read through redo instead).
 * Thread-safe.
 */
final class WalWriteMarks {
    static final int MAX_MARKS = 1 << 16;

    private int timeline;
    private long[] seqs = new long[64];
    private long[] lsns = new long[64];
    private int size;
    private volatile long lastSeq; // read on every page write, without the lock
    // Marks below this LSN may have been dropped, so only a question about an LSN at or above it has
    // an exact answer (unsigned; -1 after a start whose manifest held none, until the next mark:
    // WAL is written in order, so that one is above every mark dropped before).
    private long exactFrom = -1;

    /**
     * Journal record {@code seq} wrote {@code data} (a whole block from its start) as block
     * {@code block} of the pg_wal segment file {@code segmentName} ({@code fileSize} bytes). Marks
     * where its non-zero bytes end if it is WAL of {@code currentTimeline}.
     */
    void segmentWritten(String segmentName, long fileSize, int currentTimeline, long block, ByteString data, long seq) {
        int pgTimeline = Integer.parseUnsignedInt(segmentName.substring(0, 8), 16);
        if (pgTimeline != currentTimeline) {
            return;
        }
        int end = data.size();
        while (end > 0 && data.byteAt(end - 1) == 0) {
            end--;
        }
        if (end == 0) {
            return; // zeros: a new segment's last byte (wal_init_zero = off), or its zero fill
        }
        // A segment file is created at its full size, a power of two; the default otherwise.
        long segmentSize = fileSize >= (1 << 20) && Long.bitCount(fileSize) == 1 ? fileSize : 16L << 20;
        long segmentStart = (Long.parseUnsignedLong(segmentName.substring(8, 16), 16) << 32)
                + Long.parseUnsignedLong(segmentName.substring(16, 24), 16) * segmentSize;
        written(pgTimeline, seq, segmentStart + block * FileSystemOps.BLOCK_SIZE + end);
    }

    /** A write to {@code timeline}'s WAL in journal record {@code seq} whose non-zero bytes end at {@code endLsn}. */
    synchronized void written(int timeline, long seq, long endLsn) {
        if (timeline != this.timeline) {
            this.timeline = timeline; // a new timeline's WAL: the old one's writer was fenced
            size = 0;
            lastSeq = 0;
            exactFrom = 0;
        }
        if (size > 0 && Long.compareUnsigned(endLsn, lsns[size - 1]) <= 0) {
            return;
        }
        if (size == seqs.length) {
            if (size >= MAX_MARKS) {
                halve();
            } else {
                seqs = Arrays.copyOf(seqs, size * 2);
                lsns = Arrays.copyOf(lsns, size * 2);
            }
        }
        seqs[size] = seq;
        lsns[size] = endLsn;
        size++;
        if (exactFrom == -1) {
            exactFrom = endLsn;
        }
        lastSeq = seq;
    }

    /** The journal seq of the last write that took the WAL further (0: none on this timeline yet). */
    long lastSeq() {
        return lastSeq;
    }

    /** Merges pairs: the earlier seq, the later end (conservative: a cut found here is never later). */
    private void halve() {
        int n = 0;
        for (int i = 0; i < size; i += 2) {
            seqs[n] = seqs[i];
            lsns[n] = lsns[Math.min(i + 1, size - 1)];
            n++;
        }
        size = n;
    }

    /**
     * The first journal seq at which {@code timeline}'s WAL was written past {@code lsn}, or 0 if
     * it never was (or these marks are of another timeline, whose writer never wrote the WAL).
     */
    synchronized long firstSeqPast(int timeline, long lsn) {
        if (timeline != this.timeline) {
            return 0;
        }
        for (int i = 0; i < size; i++) {
            if (Long.compareUnsigned(lsns[i], lsn) > 0) {
                return seqs[i];
            }
        }
        return 0;
    }

    /**
     * {@link #firstSeqPast} where these marks can tell, for a branch's cut ({@link BranchCut}).
     *
     * @return -1 if they cannot (another timeline, or marks past {@code lsn} may have been
     *         dropped), 0 if the WAL was never written past {@code lsn}, else the first seq that did
     */
    synchronized long firstSeqPastIfKnown(int timeline, long lsn) {
        if (timeline != this.timeline || Long.compareUnsigned(lsn, exactFrom) < 0) {
            return -1;
        }
        return firstSeqPast(timeline, lsn);
    }

    /**
     * Where {@code timeline}'s WAL ended when journal record {@code seq} was written: the newest mark
     * at or before it (0: not known). Never below the true end: merged marks carry the later end.
     */
    synchronized long endAt(int timeline, long seq) {
        if (timeline != this.timeline) {
            return 0;
        }
        long end = 0;
        for (int i = 0; i < size && seqs[i] <= seq; i++) {
            end = lsns[i];
        }
        return end;
    }

    /**
     * Drops the marks at or below {@code lsn}: WAL durable at the WAL service, which no promotion
     * branches before. Unsigned; -1 (no WAL service, so no promotion) drops all but the last.
     */
    synchronized void trimAtOrBelow(long lsn) {
        int keepFrom = 0;
        while (keepFrom < size - 1 && Long.compareUnsigned(lsns[keepFrom], lsn) <= 0) {
            keepFrom++;
        }
        if (keepFrom > 0 && Long.compareUnsigned(lsns[keepFrom - 1], exactFrom) > 0) {
            exactFrom = lsns[keepFrom - 1]; // the marks only rise: the last one dropped is the highest
        }
        System.arraycopy(seqs, keepFrom, seqs, 0, size - keepFrom);
        System.arraycopy(lsns, keepFrom, lsns, 0, size - keepFrom);
        size -= keepFrom;
    }

    synchronized int timeline() {
        return timeline;
    }

    /** The marks of records up to {@code seq}, for the manifest (later ones come back by journal replay). */
    synchronized List<WalWriteMark> upTo(long seq) {
        List<WalWriteMark> out = new ArrayList<>();
        for (int i = 0; i < size && seqs[i] <= seq; i++) {
            out.add(WalWriteMark.newBuilder().setSeq(seqs[i]).setLsn(lsns[i]).build());
        }
        return out;
    }

    synchronized void load(int timeline, List<WalWriteMark> marks) {
        this.timeline = timeline;
        size = 0;
        lastSeq = 0;
        exactFrom = marks.isEmpty() ? -1 : marks.getFirst().getLsn(); // any dropped before were lower
        for (WalWriteMark m : marks) {
            written(timeline, m.getSeq(), m.getLsn());
        }
    }

    synchronized int size() {
        return size;
    }
}
