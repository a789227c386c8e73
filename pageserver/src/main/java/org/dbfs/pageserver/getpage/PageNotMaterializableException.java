package org.dbfs.pageserver.getpage;

/**
 * The page cannot be built at the LSN asked for from what exists: its WAL records have no base to
 * start from (no stored version at or below the LSN, no full-page image or initialisation in the
 * indexed WAL), or the WAL read back does not decode.
 */
public final class PageNotMaterializableException extends RuntimeException {
    public PageNotMaterializableException(String message) {
        super(message);
    }
}
