package org.dbfs.pageserver.store;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.dbfs.bucket.lease.ReaderLease;
import org.dbfs.pageserver.format.PackMark;
import org.dbfs.pgformat.wal.Lsn;

/**
 * The retention horizon: reads as of an LSN at or above {@code lsn} see exactly what was written,
 * and so do file reads as of a journal seq at or above {@code seq}; anything older may have been
 * collected. It is the older of two points:
 * <ul>
 *   <li>the retention window: the state the newest pack at least {@code retention} old left
 *       (pack marks map a time to the journal seq and highest page LSN packed by then); with no pack
 *       that old, nothing is collected yet. A window of 0 keeps only what the newest state needs;
 *   <li>the end of WAL durable at the WAL service, with one: a failover branches there or later;
 *   <li>the oldest LSN a live reader lease still claims (a replica's B, a time-travel mount).
 * </ul>
 * A reader's LSN maps to the newest pack mark at or below it for the seq side.
 *
 * @param why a phrase for messages and logs
 */
public record Horizon(long lsn, long seq, String why) {
    public static final Horizon NONE = new Horizon(0, 0, "nothing collected");

    /**
     * @param durableBound the end of WAL durable at the WAL service (unsigned; -1: no WAL service).
     *                     Page versions past it may belong to WAL a failover drops (the new
     *                     timeline branches at or after it and reads the old one there), so the
     *                     horizon never passes it
     */
    static Horizon compute(List<PackMark> marks, Instant now, Duration retention, List<ReaderLease> readers,
                           long newestSeq, long newestLsn, long durableBound) {
        Horizon window;
        if (retention.isZero()) {
            window = new Horizon(newestLsn, newestSeq, "retention 0: the newest state");
        } else {
            PackMark edge = newestAtOrBefore(marks, now.minus(retention).toEpochMilli());
            window = edge == null ? NONE : new Horizon(edge.getMaxLsn(), edge.getSeq(), "retention " + retention
                    + ": the state packed at " + Instant.ofEpochMilli(edge.getTimeMs()));
        }
        Horizon h = window;
        if (Long.compareUnsigned(durableBound, h.lsn) < 0) {
            h = new Horizon(durableBound, Math.min(seqAtOrBelow(marks, durableBound), h.seq), "WAL durable at the WAL service"
                    + " ends at " + Lsn.format(durableBound) + "; versions past it may be a failover's to drop");
        }
        for (ReaderLease r : readers) {
            if (Long.compareUnsigned(r.lsn(), h.lsn) < 0) {
                h = new Horizon(r.lsn(), Math.min(seqAtOrBelow(marks, r.lsn()), h.seq), "reader " + r.id() + " (" + r.holder()
                        + ") holds " + Lsn.format(r.lsn()));
            }
        }
        return h;
    }

    /** The journal seq of the newest pack mark whose pages are all at or below {@code lsn} (0: none). */
    private static long seqAtOrBelow(List<PackMark> marks, long lsn) {
        long seq = 0;
        for (PackMark m : marks) {
            if (Long.compareUnsigned(m.getMaxLsn(), lsn) <= 0) {
                seq = m.getSeq();
            }
        }
        return seq;
    }

    private static PackMark newestAtOrBefore(List<PackMark> marks, long timeMs) {
        PackMark found = null;
        for (PackMark m : marks) {
            if (m.getTimeMs() <= timeMs) {
                found = m;
            }
        }
        return found;
    }

    /** The marks still needed: those inside the window, and the newest one before it. */
    static List<PackMark> trim(List<PackMark> marks, Instant now, Duration retention) {
        long edge = now.minus(retention).toEpochMilli();
        int firstKept = 0;
        for (int i = 0; i < marks.size(); i++) {
            if (marks.get(i).getTimeMs() <= edge) {
                firstKept = i;
            }
        }
        return marks.subList(firstKept, marks.size());
    }

    /**
     * This horizon, or {@code other} where that is later: a horizon never moves back. The reason
     * given is the one for the LSN kept: the newer computation's when it holds the LSN where it was
     * (a reader that holds it there now, rather than the window that first brought it there).
     */
    Horizon atLeast(Horizon other) {
        boolean lsnFromOther = Long.compareUnsigned(other.lsn, lsn) >= 0;
        return lsnFromOther && other.seq >= seq ? other
                : new Horizon(lsnFromOther ? other.lsn : lsn, Math.max(seq, other.seq), lsnFromOther ? other.why : why);
    }

    @Override
    public String toString() {
        return Lsn.format(lsn) + " (journal seq " + seq + "; " + why + ")";
    }
}
