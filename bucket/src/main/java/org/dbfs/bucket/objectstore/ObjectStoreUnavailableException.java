package org.dbfs.bucket.objectstore;

public class ObjectStoreUnavailableException extends ObjectStoreException {
    public ObjectStoreUnavailableException(String message) {
        super(message);
    }

    public ObjectStoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
