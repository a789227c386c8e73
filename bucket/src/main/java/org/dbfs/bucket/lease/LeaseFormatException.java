package org.dbfs.bucket.lease;

import org.dbfs.bucket.crypto.IntegrityException;

/** A lease object that opens (its tag is good) but does not parse: written by a newer or broken build. */
public final class LeaseFormatException extends IntegrityException {
    public LeaseFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
