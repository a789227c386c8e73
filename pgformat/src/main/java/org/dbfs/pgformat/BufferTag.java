package org.dbfs.pgformat;

/**
 * PostgreSQL's BufferTag (storage/buf_internals.h): one page, as its relation fork and BlockNumber.
 * The block number is an unsigned 32-bit value held in an int.
 */
public record BufferTag(RelTag rel, int blockNum) {

    /**
     * Checked here rather than in {@link RelTag}: callers that take a RelTag from a request report a
     * bad fork in their own words, while a page key must fit the fork byte of the WAL index's keys.
     */
    public BufferTag {
        if (rel.forkNum() < 0 || rel.forkNum() > ForkNumber.MAX_FORKNUM) {
            throw new IllegalArgumentException("fork must be 0.." + ForkNumber.MAX_FORKNUM + ": fork=" + rel.forkNum());
        }
    }

    @Override
    public String toString() {
        return Integer.toUnsignedString(rel.spcNode()) + "/" + Integer.toUnsignedString(rel.dbNode()) + "/"
                + Integer.toUnsignedString(rel.relNode()) + " fork " + rel.forkNum() + " block " + Integer.toUnsignedString(blockNum);
    }
}
