package org.dbfs.pageserver.store;

import org.dbfs.pageserver.format.RelTagRecord;

/**
 * A relation fork: PostgreSQL's RelFileNode (spcNode, dbNode, relNode) plus forkNum.
 * OIDs are unsigned 32-bit values held in ints.
 */
public record RelTag(int spcNode, int dbNode, int relNode, int forkNum) {

    public static RelTag of(RelTagRecord r) {
        return new RelTag(r.getSpcNode(), r.getDbNode(), r.getRelNode(), r.getForkNum());
    }

    public RelTagRecord toRecord() {
        return RelTagRecord.newBuilder().setSpcNode(spcNode).setDbNode(dbNode).setRelNode(relNode)
                .setForkNum(forkNum).build();
    }

    @Override
    public String toString() {
        return Integer.toUnsignedString(spcNode) + "/" + Integer.toUnsignedString(dbNode) + "/"
                + Integer.toUnsignedString(relNode) + (forkNum == 0 ? "" : "_" + forkNum);
    }
}
