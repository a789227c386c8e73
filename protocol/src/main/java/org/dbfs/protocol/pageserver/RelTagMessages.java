package org.dbfs.protocol.pageserver;

import org.dbfs.pgformat.RelTag;

/** {@link RelTag} to and from its wire message, pageserver.proto's RelTag. */
public final class RelTagMessages {
    private RelTagMessages() {}

    public static RelTag of(org.dbfs.protocol.pageserver.v1.RelTag m) {
        return new RelTag(m.getSpcNode(), m.getDbNode(), m.getRelNode(), m.getForkNum());
    }

    public static org.dbfs.protocol.pageserver.v1.RelTag toMessage(RelTag rel) {
        return org.dbfs.protocol.pageserver.v1.RelTag.newBuilder().setSpcNode(rel.spcNode()).setDbNode(rel.dbNode())
                .setRelNode(rel.relNode()).setForkNum(rel.forkNum()).build();
    }
}
