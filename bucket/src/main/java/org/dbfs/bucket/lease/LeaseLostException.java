package org.dbfs.bucket.lease;

/** This process does not (or no longer) hold the lease: another process wrote the lease object. */
public final class LeaseLostException extends RuntimeException {
    public LeaseLostException(String message, Throwable cause) {
        super(message, cause);
    }
}
