package org.dbfs.fencing.cli;

/** A step after the lease moved failed; the message says what stands and how to finish. */
final class IncompleteException extends RuntimeException {
    IncompleteException(String message, Throwable cause) {
        super(message, cause);
    }
}
