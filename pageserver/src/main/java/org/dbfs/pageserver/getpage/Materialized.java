package org.dbfs.pageserver.getpage;

import org.dbfs.protocol.pageserver.v1.PageBase;

/**
 * A page as of an LSN, and how it was made.
 *
 * @param page    8192 bytes, or null when the page does not exist at that LSN
 * @param pageLsn pd_lsn of {@code page}
 * @param baseLsn the base's pd_lsn, or the LSN of the WAL record it came from
 * @param redone  records applied on the base
 * @param skipped records whose redo found the page already at or past them
 */
public record Materialized(byte[] page, long pageLsn, PageBase base, long baseLsn, int redone, int skipped) {
    static Materialized absent() {
        return new Materialized(null, 0, PageBase.PAGE_BASE_UNSPECIFIED, 0, 0, 0);
    }
}
