package org.dbfs.pageserver.getpage;

/**
 * One entry of the WAL service's per-page index: the record at {@code lsn} changes the page.
 *
 * @param endLsn     EndRecPtr: what redo writes into pd_lsn
 * @param applyImage the record carries a full-page image of the page that redo restores
 * @param willInit   redo initialises the page from nothing
 * @param vmClear    no block reference: a heap record clearing bits on this visibility-map page
 */
public record WalRecordRef(long lsn, long endLsn, boolean applyImage, boolean willInit, boolean vmClear) {
    /** A record redo can start the page from, without an older version. */
    public boolean isBase() {
        return applyImage || willInit;
    }
}
