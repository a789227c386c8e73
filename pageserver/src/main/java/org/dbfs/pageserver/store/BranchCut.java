package org.dbfs.pageserver.store;

import org.dbfs.pageserver.format.PackMark;

/**
 * Where a branch at X_end stops seeing this store's page versions: the journal seq from which a
 * version may have been written after the WAL went past X_end. Such a version can carry the
 * effects of WAL the branch does not have under a pd_lsn at or below X_end (a hint bit of a
 * later commit, PD_ALL_VISIBLE set by a later VACUUM), which a promoted branch would trust.
 *
 * <p>Two bounds, both safe (never later than the true cut), and the later one wins:
 * <ul>
 *   <li>pack marks: every version up to a mark's seq was written while the WAL ended at or below its
 *       {@code wal_end_lsn}, so a mark with {@code wal_end_lsn <= X_end} lets the branch see up to
 *       its seq. Coarse by up to one pack, but kept for the whole retention window;
 *   <li>the WAL write marks ({@link WalWriteMarks}), exact, where they still reach back to X_end.
 * </ul>
 */
final class BranchCut {
    private BranchCut() {}

    /** The cut for {@code xEnd} on the current timeline, or 0 if neither bound reaches back to it. */
    static long at(PageStore ps, long xEnd) {
        ps.commitLock.lock(); // the marks and the last seq of one moment
        try {
            long cut = 0;
            for (PackMark m : ps.manifest.getPackMarksList()) {
                if (m.getWalEndLsn() != 0 && Long.compareUnsigned(m.getWalEndLsn(), xEnd) <= 0) {
                    cut = Math.max(cut, m.getSeq() + 1);
                }
            }
            long past = ps.walMarks.firstSeqPastIfKnown(ps.timelines().current().timeline(), xEnd);
            if (past == 0) {
                past = ps.lastSeq + 1; // the WAL has not gone past xEnd yet: every version so far is before it
            }
            return Math.max(cut, past);
        } finally {
            ps.commitLock.unlock();
        }
    }
}
