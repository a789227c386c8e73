package org.dbfs.fencing;

/**
 * The cluster lease does not let this caller write: another mount holds it, a promotion is giving
 * it to someone else, or the caller's epoch was fenced. The message names the lease as it is now.
 */
public final class WriterRefusedException extends RuntimeException {
    public WriterRefusedException(String message) {
        super(message);
    }
}
