package org.dbfs.bucket.crypto;

/**
 * The bucket's key object exists but cannot be read: damaged, or written by a newer DbFS in a
 * format this version does not know. Nothing was changed.
 */
public class UnreadableKeyObjectException extends RuntimeException {
    public UnreadableKeyObjectException(String message) {
        super(message);
    }
}
