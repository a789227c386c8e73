package org.dbfs.pageserver.store;

import java.util.ArrayList;
import java.util.List;
import org.dbfs.pageserver.format.TimelineStart;
import org.dbfs.pgformat.wal.Lsn;

/**
 * The chain of timelines from the first to the current one (ARCHITECTURE.md, "Timelines"), and
 * which block versions a read on the current timeline sees.
 *
 * <p>One writer per bucket and a fence before every promotion make the timeline of a version a
 * function of its journal seq: a timeline starts with the journal record that branched it, and
 * from then on every version is its own, because the old timeline's writer was fenced first and
 * nothing of its epoch is accepted any more. Versions of an ancestor are visible up to the branch
 * LSN, which is how page versions the old primary wrote beyond it (WAL that was never acknowledged)
 * vanish from the new timeline without being deleted. A writable branch beside a live parent would
 * need a timeline per version instead; the chain is what promotion needs.
 *
 * <p>Immutable; the namespace holds the current chain.
 */
public final class Timelines {
    /**
     * @param startSeq     the journal seq of the record that started it (0 for the first timeline)
     * @param parentCutSeq the parent's versions from this journal seq on are not this timeline's (0:
     *                     none but {@code startSeq}): where the parent first wrote WAL past the branch
     */
    public record Start(int timeline, int parent, long branchLsn, long startSeq, long parentCutSeq) {
        /** The parent's versions at or after this seq are not this timeline's. */
        long parentSeqLimit() {
            return parentCutSeq != 0 && parentCutSeq < startSeq ? parentCutSeq : startSeq;
        }
    }

    public static final Timelines FIRST = new Timelines(List.of(new Start(1, 0, 0, 0, 0)));

    private final List<Start> chain; // oldest first; the last is the current timeline
    private final Start[] byLevel;

    private Timelines(List<Start> chain) {
        this.chain = List.copyOf(chain);
        this.byLevel = this.chain.toArray(new Start[0]);
    }

    public Timelines branched(int timeline, long branchLsn, long startSeq, long parentCutSeq) {
        List<Start> next = new ArrayList<>(chain);
        next.add(new Start(timeline, current().timeline(), branchLsn, startSeq, parentCutSeq));
        return new Timelines(next);
    }

    public static Timelines of(List<TimelineStart> starts) {
        Timelines t = FIRST;
        for (TimelineStart s : starts) {
            t = t.branched(s.getTimeline(), s.getBranchLsn(), s.getStartSeq(), s.getParentCutSeq());
        }
        return t;
    }

    public List<TimelineStart> records() {
        List<TimelineStart> out = new ArrayList<>();
        for (int i = 1; i < byLevel.length; i++) {
            Start s = byLevel[i];
            out.add(TimelineStart.newBuilder().setTimeline(s.timeline()).setParent(s.parent())
                    .setBranchLsn(s.branchLsn()).setStartSeq(s.startSeq()).setParentCutSeq(s.parentCutSeq()).build());
        }
        return out;
    }

    /** Every timeline of the chain, the first one first and the current one last. */
    public List<Start> starts() {
        return chain;
    }

    public Start current() {
        return byLevel[byLevel.length - 1];
    }

    /**
     * The timeline that WAL ending at {@code lsn} belongs to: a branch's WAL starts after its
     * branch LSN, and a record ending exactly there is still the parent's.
     */
    public int timelineAt(long lsn) {
        int t = byLevel[0].timeline();
        for (int i = 1; i < byLevel.length; i++) {
            if (Long.compareUnsigned(byLevel[i].branchLsn(), lsn) < 0) {
                t = byLevel[i].timeline();
            }
        }
        return t;
    }

    /** The journal seq from which versions are the current timeline's own. */
    public long currentStartSeq() {
        return current().startSeq();
    }

    private boolean single() {
        return byLevel.length == 1;
    }

    /** Only the first timeline: nothing was ever branched. */
    public boolean isFirst() {
        return single();
    }

    /** Whether the current timeline wrote a version of this block itself (its latest is then its own). */
    public boolean ownsLatest(Version[] versions) {
        return single() || (versions.length > 0 && versions[versions.length - 1].seq() >= currentStartSeq());
    }

    /**
     * Whether a read as of {@code lsn} (unsigned; -1 for "any") on the current timeline may see
     * {@code v}: its own timeline's versions up to {@code lsn}, an ancestor's up to the lowest
     * branch LSN on the way and written before the ancestor wrote WAL past that branch (its
     * child's {@link Start#parentCutSeq}). Tombstones are never seen by reads as of an LSN.
     */
    public boolean visible(Version v, long lsn) {
        if (v.tombstone()) {
            return false;
        }
        long limit = lsn;
        long seqLimit = Long.MAX_VALUE;
        for (int i = byLevel.length - 1; i >= 0; i--) {
            if (v.seq() >= byLevel[i].startSeq()) {
                return Long.compareUnsigned(v.lsn(), limit) <= 0 && v.seq() < seqLimit;
            }
            if (Long.compareUnsigned(byLevel[i].branchLsn(), limit) < 0) {
                limit = byLevel[i].branchLsn();
            }
            seqLimit = Math.min(seqLimit, byLevel[i].parentSeqLimit());
        }
        return false;
    }

    /** The newest version visible as of {@code lsn}: highest LSN, and among equal LSNs the last written. */
    public Version asOf(Version[] versions, long lsn) {
        return single() ? VersionList.asOf(versions, lsn) : asOfBefore(versions, lsn, Long.MAX_VALUE);
    }

    /**
     * {@link #asOf} among the versions written before journal seq {@code seqLimit} only: what a
     * branch pinned there reads ({@link BranchPin}), as a promotion's {@link Start#parentCutSeq}
     * limits what the new timeline sees of its parent.
     */
    public Version asOfBefore(Version[] versions, long lsn, long seqLimit) {
        Version best = null;
        for (Version v : versions) {
            if (v.seq() < seqLimit && visible(v, lsn) && (best == null || Long.compareUnsigned(v.lsn(), best.lsn()) >= 0)) {
                best = v;
            }
        }
        return best;
    }

    /**
     * What the current timeline's writer reads: its own last version if it wrote the block (a
     * tombstone then means absent), else the parent's history as of the branch LSN.
     */
    public Version latest(Version[] versions) {
        if (versions.length == 0) {
            return null;
        }
        Version last = versions[versions.length - 1];
        if (single() || last.seq() >= currentStartSeq()) {
            return last;
        }
        return asOf(versions, current().branchLsn());
    }

    /**
     * Whether any read on the current timeline may still need {@code v}: a tombstone of the
     * current timeline, or a version visible at some LSN. What is not is garbage.
     */
    public boolean everNeeded(Version v) {
        if (v.seq() >= currentStartSeq()) {
            return true;
        }
        return visible(v, -1L);
    }

    /** The versions {@link #everNeeded}, in order (the array itself when that is all of them). */
    public Version[] needed(Version[] versions) {
        if (single()) {
            return versions;
        }
        int n = 0;
        for (Version v : versions) {
            if (everNeeded(v)) {
                n++;
            }
        }
        if (n == versions.length) {
            return versions;
        }
        Version[] out = new Version[n];
        int i = 0;
        for (Version v : versions) {
            if (everNeeded(v)) {
                out[i++] = v;
            }
        }
        return out;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("timeline ").append(current().timeline());
        for (int i = byLevel.length - 1; i >= 1; i--) {
            b.append(" (from ").append(byLevel[i].parent()).append(" at ").append(Lsn.format(byLevel[i].branchLsn()))
                    .append(", journal seq ").append(byLevel[i].startSeq()).append(')');
        }
        return b.toString();
    }
}
