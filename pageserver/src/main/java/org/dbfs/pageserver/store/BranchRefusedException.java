package org.dbfs.pageserver.store;

/** A branch call that cannot be done as asked; nothing was changed. The message says why. */
public final class BranchRefusedException extends RuntimeException {
    /** Why, as the API tells callers apart (pageserver.proto maps each to a status code). */
    public enum Reason {
        EXISTS,
        NOT_FOUND,
        BAD_NAME,
        /** The point is outside what a branch can start from (an earlier timeline). */
        OUT_OF_RANGE,
        /** Not in this state: the branch is mounted, or the cut cannot be told yet. */
        NOT_NOW
    }

    public final Reason reason;

    BranchRefusedException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }
}
