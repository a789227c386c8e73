package org.dbfs.pgformat.wal;

/** A full-page image that cannot be restored: corrupt compressed data, an unknown method, bad lengths. */
public final class BlockImageException extends RuntimeException {
    public BlockImageException(String message) {
        super(message);
    }

    public BlockImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
