package org.dbfs.fuse;

import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Unlinked files that are still open. libfuse's high-level API, unless hard_remove is set, turns the
 * unlink (or rename-over) of an open file into a rename to {@code .fuse_hiddenNNN} and unlinks that
 * name at the last close. We let it, because with hard_remove jfuse would be handed a NULL path for
 * later operations on the open file. But such names must not appear in the database directory (an
 * rmdir would fail with ENOTEMPTY), so the mount removes the real name on the page server at once
 * (the inode stays readable by number) and keeps the hidden name only here.
 */
final class HiddenFiles {

    private static final String PREFIX = ".fuse_hidden";

    private final Map<String, Long> inoByPath = new ConcurrentHashMap<>();

    static boolean isHiddenName(String path) {
        int slash = path.lastIndexOf('/');
        return path.startsWith(PREFIX, slash + 1);
    }

    void add(String hiddenPath, long ino) {
        inoByPath.put(hiddenPath, ino);
    }

    OptionalLong ino(String path) {
        if (!isHiddenName(path)) {
            return OptionalLong.empty();
        }
        Long ino = inoByPath.get(path);
        return ino == null ? OptionalLong.empty() : OptionalLong.of(ino);
    }

    boolean hides(long ino) {
        return !inoByPath.isEmpty() && inoByPath.containsValue(ino);
    }

    /** Drops the hidden names of an inode that is no longer open. */
    void forget(long ino) {
        if (!inoByPath.isEmpty()) {
            inoByPath.values().removeIf(i -> i == ino);
        }
    }

    boolean remove(String hiddenPath) {
        return inoByPath.remove(hiddenPath) != null;
    }
}
