package org.dbfs.pgformat.redo;

/**
 * A record cannot be applied to the page it was given: where PostgreSQL's redo would PANIC (invalid
 * line pointer, a WILL_INIT mismatch) or log an invalid page (the block is new or missing).
 */
public final class RedoException extends RuntimeException {
    public RedoException(String message) {
        super(message);
    }

    public RedoException(String message, Throwable cause) {
        super(message, cause);
    }
}
