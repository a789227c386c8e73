package org.dbfs.fuse;

import org.dbfs.protocol.pageserver.v1.NodeAttr;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The names the kernel knows of each file with more than one link. libfuse's high-level API gives
 * every name its own kernel inode, so the kernel caches attributes per name: after a change through
 * one name (link, unlink, rename, chmod, a write) the others would show the old nlink, mode or ctime
 * for the attribute timeout. The changes therefore ask here which other names to invalidate
 * ({@link AttrInvalidation}).
 *
 * <p>Every name the kernel knows came through getattr, readdirplus or link, with the file's link
 * count: a name seen with one link was the file's only name, and a second can only come from a link
 * through this mount (the only writer), which records both. So only files with nlink &gt; 1 are kept
 * (directories, whose nlink counts subdirectories, never), and a file leaves when getattr shows it
 * with one link again or its last known name goes.
 */
final class HardLinkNames {

    /** Beyond this many names (a tree of hard links, as cp -al makes) new ones are not tracked: staler, not bigger. */
    static final int MAX_NAMES = 100_000;

    private final Map<String, Long> inoByName = new HashMap<>();
    private final Map<Long, Set<String>> namesByIno = new HashMap<>();
    /** Counts namespace changes, so that a getattr that raced with one does not undo what it recorded. */
    private volatile long version;
    /** Lets getattr of a file with one link, the common case, pass without the lock. */
    private volatile boolean empty = true;
    private boolean warnedFull;

    /** Read before fetching the attributes passed to {@link #seen}. */
    long version() {
        return version;
    }

    /** What getattr or readdirplus showed the kernel under {@code path}. */
    void seen(String path, NodeAttr attr, long fetchedAtVersion) {
        if (attr.getType() == NodeType.DIRECTORY || path.isEmpty() || (attr.getNlink() <= 1 && empty)) {
            return;
        }
        synchronized (this) {
            if (fetchedAtVersion != version) {
                return;
            }
            if (attr.getNlink() > 1) {
                add(attr.getIno(), path);
            } else {
                forget(path);
                forgetFile(attr.getIno()); // its only name: no other name to keep fresh
            }
        }
    }

    /** {@code to} is a new name of {@code ino}. @return the names whose cached nlink is now wrong */
    synchronized List<String> linked(String from, String to, long ino) {
        version++;
        add(ino, from);
        add(ino, to);
        return others(ino, to);
    }

    /** @return the other names of the unlinked file, whose nlink and ctime changed */
    synchronized List<String> unlinked(String path) {
        version++;
        Long ino = forget(path);
        return ino == null ? List.of() : others(ino, path);
    }

    /**
     * @return the names whose cached attributes the rename made stale: the moved file's other names
     * (its ctime), the replaced file's remaining ones (its nlink)
     */
    synchronized List<String> renamed(String from, String to) {
        version++;
        Long moved = inoByName.get(from);
        Long replaced = inoByName.get(to);
        if (moved != null && moved.equals(replaced)) {
            return List.of(); // two names of one file: rename(2) does nothing
        }
        List<String> stale = new ArrayList<>();
        if (replaced != null) {
            forget(to);
            stale.addAll(others(replaced, to));
        }
        if (moved != null) {
            forget(from);
            add(moved, to);
            stale.addAll(others(moved, to));
        } else {
            moveBelow(from + "/", to + "/"); // perhaps a directory: the names in it move along
        }
        return stale;
    }

    /** @return the names of {@code ino} other than the one a change (chmod, a write, ...) came through */
    List<String> othersOf(long ino, String changedThrough) {
        if (empty) {
            return List.of();
        }
        synchronized (this) {
            return others(ino, changedThrough);
        }
    }

    synchronized int size() {
        return inoByName.size();
    }

    private List<String> others(long ino, String except) {
        Set<String> names = namesByIno.get(ino);
        if (names == null) {
            return List.of();
        }
        List<String> others = new ArrayList<>(names);
        others.remove(except);
        return others;
    }

    private void add(long ino, String path) {
        Long previous = inoByName.get(path);
        if (previous != null && previous == ino) {
            return;
        }
        if (previous != null) {
            forget(path); // the name now belongs to another file
        } else if (inoByName.size() >= MAX_NAMES) {
            if (!warnedFull) {
                warnedFull = true;
                LoggerFactory.getLogger(HardLinkNames.class).warn("more than {} names of hard-linked files: further ones"
                        + " may show stale attributes for up to the attribute timeout after a change through another name", MAX_NAMES);
            }
            return;
        }
        inoByName.put(path, ino);
        namesByIno.computeIfAbsent(ino, i -> new LinkedHashSet<>()).add(path);
        empty = false;
    }

    /** @return the file the name belonged to, if known */
    private Long forget(String path) {
        Long ino = inoByName.remove(path);
        if (ino != null) {
            Set<String> names = namesByIno.get(ino);
            names.remove(path);
            if (names.isEmpty()) {
                namesByIno.remove(ino);
            }
            empty = inoByName.isEmpty();
        }
        return ino;
    }

    private void forgetFile(long ino) {
        Set<String> names = namesByIno.remove(ino);
        if (names != null) {
            names.forEach(inoByName::remove);
            empty = inoByName.isEmpty();
        }
    }

    private void moveBelow(String fromDir, String toDir) {
        if (empty) {
            return;
        }
        Map<String, Long> moving = new HashMap<>();
        inoByName.forEach((path, ino) -> {
            if (path.startsWith(fromDir)) {
                moving.put(path, ino);
            }
        });
        moving.forEach((path, ino) -> {
            forget(path);
            add(ino, toDir + path.substring(fromDir.length()));
        });
    }
}
