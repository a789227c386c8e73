package org.dbfs.bucket.objectstore;

public class PreconditionFailedException extends ObjectStoreException {
    public PreconditionFailedException(String message) {
        super(message);
    }

    public PreconditionFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
