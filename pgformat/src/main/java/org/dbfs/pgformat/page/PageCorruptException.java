package org.dbfs.pgformat.page;

/**
 * A page operation found pointers that PostgreSQL would reject ("corrupted page pointers", an item
 * that does not fit, a line pointer in the wrong state). Redo turns this into a failure of the record,
 * never into a silently different page.
 */
public final class PageCorruptException extends RuntimeException {
    public PageCorruptException(String message) {
        super(message);
    }
}
