package org.dbfs.pageserver.store;

import java.util.Comparator;
import org.dbfs.pageserver.format.SegmentEntry;
import org.dbfs.pgformat.RelTag;

/**
 * One version with the block it belongs to: what the packer and garbage collection write into a
 * segment. {@link #ORDER} is segment order: relation pages by (spc, db, rel, fork), then file
 * blocks by inode; block; seq.
 */
record VersionRef(VersionList list, Version version) {
    static final Comparator<VersionRef> ORDER = Comparator
            .comparingInt((VersionRef c) -> c.list.owner() instanceof RelTag ? 0 : 1)
            .thenComparing(VersionRef::compareOwners)
            .thenComparingLong(c -> c.list.block())
            .thenComparingLong(c -> c.version.seq());

    /** The segment footer entry naming this version (the writer fills in the frame position). */
    SegmentEntry.Builder entry() {
        SegmentEntry.Builder e = SegmentEntry.newBuilder().setBlock(list.block())
                .setLsn(version.tombstone() ? 0 : version.lsn()).setSeq(version.seq()).setTombstone(version.tombstone());
        if (list.owner() instanceof RelTag rel) {
            e.setRel(RelTagRecords.toRecord(rel));
        } else {
            e.setIno((Long) list.owner());
        }
        return e;
    }

    private static int compareOwners(VersionRef a, VersionRef b) {
        if (a.list.owner() instanceof RelTag x && b.list.owner() instanceof RelTag y) {
            int c = Integer.compareUnsigned(x.spcNode(), y.spcNode());
            c = c != 0 ? c : Integer.compareUnsigned(x.dbNode(), y.dbNode());
            c = c != 0 ? c : Integer.compareUnsigned(x.relNode(), y.relNode());
            return c != 0 ? c : Integer.compare(x.forkNum(), y.forkNum());
        }
        if (a.list.owner() instanceof Long x && b.list.owner() instanceof Long y) {
            return Long.compare(x, y);
        }
        return 0;
    }
}
