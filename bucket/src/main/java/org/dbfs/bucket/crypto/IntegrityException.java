package org.dbfs.bucket.crypto;

/** A frame failed authentication: corrupted, truncated, moved, or sealed under another key. */
public class IntegrityException extends RuntimeException {
    public IntegrityException(String message) {
        super(message);
    }

    public IntegrityException(String message, Throwable cause) {
        super(message, cause);
    }
}
