package org.dbfs.fuse;

import org.dbfs.protocol.pageserver.v1.NodeAttr;
import org.dbfs.protocol.pageserver.v1.NodeType;

import java.util.HashMap;
import java.util.Map;

/**
 * The page server's attributes of regular files this mount holds open, so that a getattr on an
 * open file needs no round trip. With the writeback cache the kernel asks for them around every
 * write and after every mtime update, which on a WAL file means twice a commit.
 *
 * <p>This is safe because the read-write mount is the only writer: every change to a file's
 * attributes passes through here and forgets the entry (set-attribute calls, truncation, a
 * write that is not buffered) or the whole table (unlink, rename, link: they move nlink and ctime).
 * Buffered writes need no forgetting: sizes and mtimes are overlaid from the {@link WriteBuffer},
 * which keeps them until the last close, when the entry goes too.
 *
 * <p>A fetch that raced with a change must not store what it fetched: {@link #remember} takes the
 * generation read before the fetch and stores nothing if anything was forgotten since.
 */
final class OpenFileAttrs {

    private final Map<Long, NodeAttr> byIno = new HashMap<>();
    private long generation;

    synchronized NodeAttr get(long ino) {
        return byIno.get(ino);
    }

    /** Read before fetching attributes that may be passed to {@link #remember}. */
    synchronized long generation() {
        return generation;
    }

    synchronized void remember(NodeAttr attr, long fetchedAtGeneration) {
        if (attr.getType() == NodeType.REGULAR && fetchedAtGeneration == generation) {
            byIno.put(attr.getIno(), attr);
        }
    }

    /**
     * The kernel's mtime after writes, which the write buffer sends with the next flush: the entry
     * takes it now, so that after the flush it still shows what the page server then has.
     */
    synchronized void setMtime(long ino, long mtimeNs) {
        generation++;
        byIno.computeIfPresent(ino, (i, attr) -> attr.toBuilder().setMtimeNs(mtimeNs).build());
    }

    synchronized void forget(long ino) {
        generation++;
        byIno.remove(ino);
    }

    synchronized void forgetAll() {
        generation++;
        byIno.clear();
    }
}
