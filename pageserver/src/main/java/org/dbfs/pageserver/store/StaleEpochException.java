package org.dbfs.pageserver.store;

/** A write (or Sync) from a writer whose epoch the cluster has moved past: it was fenced. */
public final class StaleEpochException extends RuntimeException {
    public StaleEpochException(String message) {
        super(message);
    }
}
