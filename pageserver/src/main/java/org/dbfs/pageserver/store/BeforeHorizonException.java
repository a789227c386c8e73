package org.dbfs.pageserver.store;

/** A read as of an LSN older than the retention horizon: the versions it needs may be collected. */
public final class BeforeHorizonException extends RuntimeException {
    BeforeHorizonException(String message) {
        super(message);
    }
}
