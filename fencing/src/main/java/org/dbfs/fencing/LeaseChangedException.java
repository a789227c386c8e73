package org.dbfs.fencing;

/** The cluster lease changed between reading it and writing over it: another process moved it first. */
public final class LeaseChangedException extends RuntimeException {
    public LeaseChangedException(String message, Throwable cause) {
        super(message, cause);
    }
}
