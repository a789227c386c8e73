package org.dbfs.protocol.walservice;

import org.dbfs.pgformat.BufferTag;
import org.dbfs.pgformat.RelTag;
import org.dbfs.protocol.walservice.v1.GetPageRecordsRequest;

/** The page of a GetPageRecordsRequest, whose BufferTag fields are inline, as a {@link BufferTag}. */
public final class PageRecordsRequests {
    private PageRecordsRequests() {}

    /** A request for {@code page}'s records; the caller sets the LSN range and waiting. */
    public static GetPageRecordsRequest.Builder forPage(BufferTag page) {
        RelTag rel = page.rel();
        return GetPageRecordsRequest.newBuilder().setSpcNode(rel.spcNode()).setDbNode(rel.dbNode())
                .setRelNode(rel.relNode()).setForkNum(rel.forkNum()).setBlock(page.blockNum());
    }

    /** @throws IllegalArgumentException fork_num is not a fork */
    public static BufferTag page(GetPageRecordsRequest req) {
        return new BufferTag(new RelTag(req.getSpcNode(), req.getDbNode(), req.getRelNode(), req.getForkNum()), req.getBlock());
    }
}
