package org.dbfs.pageserver.store;

import org.dbfs.pageserver.format.RelTagRecord;
import org.dbfs.pgformat.RelTag;

/** {@link RelTag} to and from its storage-format record (journal records, segment footers, inodes). */
public final class RelTagRecords {
    private RelTagRecords() {}

    public static RelTag of(RelTagRecord r) {
        return new RelTag(r.getSpcNode(), r.getDbNode(), r.getRelNode(), r.getForkNum());
    }

    public static RelTagRecord toRecord(RelTag rel) {
        return RelTagRecord.newBuilder().setSpcNode(rel.spcNode()).setDbNode(rel.dbNode()).setRelNode(rel.relNode())
                .setForkNum(rel.forkNum()).build();
    }
}
