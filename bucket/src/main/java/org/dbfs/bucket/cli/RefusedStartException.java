package org.dbfs.bucket.cli;

/**
 * A service refuses to start because the bucket's state makes starting unsafe, not because of an
 * error: the message says what it found and what the operator can do.
 */
public class RefusedStartException extends RuntimeException {
    public RefusedStartException(String message) {
        super(message);
    }
}
