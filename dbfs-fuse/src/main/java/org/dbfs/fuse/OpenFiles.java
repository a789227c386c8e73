package org.dbfs.fuse;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The files the kernel holds open, by FUSE file handle. A handle remembers the inode, so reads and
 * writes keep working after the path is unlinked or renamed away.
 */
final class OpenFiles {

    /**
     * @param relation the page server stores the file as relation pages, so writes carry pd_lsns
     * @param syncWrites opened O_SYNC/O_DSYNC: each write must be durable before it returns
     */
    record OpenFile(long ino, boolean relation, boolean syncWrites) {
    }

    private final AtomicLong nextHandle = new AtomicLong(1);
    private final Map<Long, OpenFile> byHandle = new ConcurrentHashMap<>();

    long add(OpenFile file) {
        long fh = nextHandle.getAndIncrement();
        byHandle.put(fh, file);
        return fh;
    }

    /**
     * Takes over a handle the kernel already holds from the file system this one replaces (a
     * promoted replica's), under the same number; later handles are numbered above it.
     */
    void adopt(long fh, OpenFile file) {
        byHandle.put(fh, file);
        nextHandle.accumulateAndGet(fh + 1, Math::max);
    }

    /** Numbers new handles from above {@code fh}, so that they never collide with ones issued before. */
    void numberAbove(long fh) {
        nextHandle.accumulateAndGet(fh + 1, Math::max);
    }

    OpenFile get(long fh) {
        return byHandle.get(fh);
    }

    OpenFile remove(long fh) {
        return byHandle.remove(fh);
    }

    /** Whether any handle still refers to the inode (a scan: only asked about unlinked files). */
    boolean isOpen(long ino) {
        return byHandle.values().stream().anyMatch(f -> f.ino() == ino);
    }

    int size() {
        return byHandle.size();
    }
}
