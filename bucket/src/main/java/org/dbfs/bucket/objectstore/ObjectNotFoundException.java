package org.dbfs.bucket.objectstore;

public class ObjectNotFoundException extends ObjectStoreException {
    public ObjectNotFoundException(String message) {
        super(message);
    }

    public ObjectNotFoundException(String message, Throwable cause) {
        super(message, cause);
    }
}
