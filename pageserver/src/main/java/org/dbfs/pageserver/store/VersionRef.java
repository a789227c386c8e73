package org.dbfs.pageserver.store;

import java.util.Comparator;
import org.dbfs.pageserver.format.SegmentEntry;
import org.dbfs.pgformat.RelTag;

/**
 * One version with the block it belongs to: what the packer and garbage collection write into a
 * segment. {@link #ORDER} is segment order: relation pages by (spc, db, rel, fork), then file
 * blocks by inode; block; seq.
 */
record VersionRef(Object owner, long block, Version version) {
    static final Comparator<VersionRef> ORDER = Comparator
            .comparingInt((VersionRef c) -> c.owner instanceof RelTag ? 0 : 1)
            .thenComparing(VersionRef::compareOwners)
            .thenComparingLong(VersionRef::block)
            .thenComparingLong(c -> c.version.seq());

    /** The segment footer entry naming this version (the writer fills in the frame position). */
    SegmentEntry.Builder entry() {
        SegmentEntry.Builder e = SegmentEntry.newBuilder().setBlock(block)
                .setLsn(version.tombstone() ? 0 : version.lsn()).setSeq(version.seq()).setTombstone(version.tombstone());
        if (owner instanceof RelTag rel) {
            e.setRel(RelTagRecords.toRecord(rel));
        } else {
            e.setIno((Long) owner);
        }
        return e;
    }

    static VersionRef of(VersionList list, Version version) {
        return new VersionRef(list.owner(), list.block(), version);
    }

    boolean isPage() {
        return owner instanceof RelTag;
    }

    private static int compareOwners(VersionRef a, VersionRef b) {
        if (a.owner instanceof RelTag x && b.owner instanceof RelTag y) {
            int c = Integer.compareUnsigned(x.spcNode(), y.spcNode());
            c = c != 0 ? c : Integer.compareUnsigned(x.dbNode(), y.dbNode());
            c = c != 0 ? c : Integer.compareUnsigned(x.relNode(), y.relNode());
            return c != 0 ? c : Integer.compare(x.forkNum(), y.forkNum());
        }
        if (a.owner instanceof Long x && b.owner instanceof Long y) {
            return Long.compare(x, y);
        }
        return 0;
    }
}
