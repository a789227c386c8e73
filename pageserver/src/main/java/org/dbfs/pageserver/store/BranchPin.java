package org.dbfs.pageserver.store;

/**
 * A live branch's claim on this store's history: it reads every block it never wrote itself as of
 * {@code xEnd}, among the versions written before journal seq {@code cutSeq} ({@link BranchCut}).
 * Garbage collection keeps, of every block, the version such a read returns, whatever the
 * retention horizon, and the data-directory snapshot {@code snapshot} its first mount starts from;
 * the horizon itself does not wait for it.
 */
public record BranchPin(String branch, long xEnd, long cutSeq, String snapshot) {

    /** The version of a block (its versions oldest first) that the branch reads, or null. */
    Version version(Version[] versions, Timelines timelines) {
        return timelines.asOfBefore(versions, xEnd, cutSeq);
    }
}
