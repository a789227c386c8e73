package org.dbfs.pageserver.store;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiPredicate;

/**
 * The versions of one block, ordered by journal sequence: a pinned block's or a cached one's (see
 * {@link BlockIndex}).
 *
 * <p>Concurrency: mutations are synchronized (the journal writer and the packer both mutate);
 * readers see an immutable array through a volatile field and take no lock.
 */
public final class VersionList {
    private static final Version[] EMPTY = new Version[0];

    private final Object owner; // RelTag or Long ino; lets the packer name the block
    private final long block;
    private volatile Version[] versions = EMPTY;

    VersionList(Object owner, long block) {
        this.owner = owner;
        this.block = block;
    }

    /** A list of versions read from disk, oldest first. */
    VersionList(Object owner, long block, Version[] versions) {
        this.owner = owner;
        this.block = block;
        this.versions = versions;
    }

    public Object owner() {
        return owner;
    }

    public long block() {
        return block;
    }

    /** The last version written, or null. */
    public Version latest() {
        Version[] v = versions;
        return v.length == 0 ? null : v[v.length - 1];
    }

    /**
     * The newest version whose LSN is at or below {@code lsn}: highest LSN, and among equal LSNs the
     * last written. Tombstones are never returned.
     */
    public Version asOf(long lsn) {
        return asOf(versions, lsn);
    }

    /** {@link #asOf(long)} over a snapshot of the versions. */
    static Version asOf(Version[] versions, long lsn) {
        Version best = null;
        for (Version v : versions) {
            if (v.tombstone() || Long.compareUnsigned(v.lsn(), lsn) > 0) {
                continue;
            }
            if (best == null || Long.compareUnsigned(v.lsn(), best.lsn()) >= 0) {
                best = v;
            }
        }
        return best;
    }

    public Version[] snapshot() {
        return versions;
    }

    /**
     * Adds a version. An unpacked version is replaced instead of kept when the new one supersedes
     * it for every reader: the same LSN (hint-bit rewrites of a page) written at or after
     * {@code sameLsnSince}, or, for file blocks, any newer write. Packed versions are never
     * replaced here; garbage collection drops them.
     *
     * @param sameLsnSince the oldest seq of a version a same-LSN rewrite may replace: a promotion
     *                     may need the version from before the writer's WAL went further
     *                     ({@link WalWriteMarks}), since the rewrite may carry its effects
     * @return bytes of unpacked data released by the replacement
     */
    synchronized long add(Version version, boolean replaceAnyUnpacked, long sameLsnSince) {
        Version[] v = versions;
        if (v.length > 0) {
            Version last = v[v.length - 1];
            if (last.isUnpacked() && !last.tombstone() && !version.tombstone()
                    && (replaceAnyUnpacked || (last.lsn() == version.lsn() && last.seq() >= sameLsnSince))) {
                Version[] copy = v.clone();
                copy[copy.length - 1] = version;
                versions = copy;
                return last.unpackedBytes();
            }
        }
        Version[] copy = Arrays.copyOf(v, v.length + 1);
        copy[v.length] = version;
        versions = copy;
        return 0;
    }

    /** Adds a version read back from a segment, keeping the array ordered by seq. */
    synchronized void addLoaded(Version version) {
        Version[] v = versions;
        int pos = v.length;
        while (pos > 0 && v[pos - 1].seq() > version.seq()) {
            pos--;
        }
        if (pos > 0 && v[pos - 1].seq() == version.seq()) {
            return; // already known (a segment listed twice would otherwise duplicate)
        }
        Version[] copy = new Version[v.length + 1];
        System.arraycopy(v, 0, copy, 0, pos);
        copy[pos] = version;
        System.arraycopy(v, pos, copy, pos + 1, v.length - pos);
        versions = copy;
    }

    /**
     * Removes the versions {@code keep} rejects (garbage collection) and returns them. The
     * predicate sees each version with the whole list, oldest first.
     */
    synchronized List<Version> retain(BiPredicate<Version, Version[]> keep) {
        Version[] v = versions;
        List<Version> dropped = new ArrayList<>();
        List<Version> kept = new ArrayList<>(v.length);
        for (Version version : v) {
            (keep.test(version, v) ? kept : dropped).add(version);
        }
        if (!dropped.isEmpty()) {
            versions = kept.isEmpty() ? EMPTY : kept.toArray(EMPTY);
        }
        return dropped;
    }

    /** True while some version is waiting to be packed. */
    boolean hasUnpacked() {
        for (Version v : versions) {
            if (v.isUnpacked()) {
                return true;
            }
        }
        return false;
    }

    synchronized boolean isEmpty() {
        return versions.length == 0;
    }

    /** Points the version with {@code seq} in segment {@code from} at its copy in segment {@code to}; false if it went meanwhile. */
    synchronized boolean relocate(long seq, int from, int to, long offset, int length) {
        Version[] v = versions;
        for (int i = v.length - 1; i >= 0; i--) {
            if (v[i].seq() == seq && v[i].segment() == from) {
                Version[] copy = v.clone();
                copy[i] = v[i].movedTo(to, offset, length);
                versions = copy;
                return true;
            }
        }
        return false;
    }

    /** Points the version with {@code seq} at its segment frame, if it is still there. */
    synchronized boolean markPacked(long seq, int segmentId, long offset, int length) {
        Version[] v = versions;
        for (int i = v.length - 1; i >= 0; i--) {
            if (v[i].seq() == seq) {
                if (!v[i].isUnpacked()) {
                    return false;
                }
                Version[] copy = v.clone();
                copy[i] = v[i].movedTo(segmentId, offset, length);
                versions = copy;
                return true;
            }
        }
        return false;
    }
}
