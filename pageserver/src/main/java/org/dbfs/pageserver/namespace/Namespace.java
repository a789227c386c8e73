package org.dbfs.pageserver.namespace;

import java.util.HashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.dbfs.pageserver.format.DirentRecord;
import org.dbfs.pageserver.format.InodeRecord;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.NamespaceSnapshot;
import org.dbfs.pageserver.store.Timelines;

/**
 * The file system tree: inodes and directory entries, rebuilt from the newest namespace snapshot
 * plus the journal. Mutations arrive only as journal records ({@link #apply}), so replay after a
 * crash reproduces exactly what was acknowledged.
 *
 * <p>An unlinked inode that is still open somewhere stays here with nlink 0 so it can be read by
 * number until the page server restarts; snapshots leave such inodes out.
 *
 * <p>Not thread-safe: the page store guards it with a read-write lock.
 */
public final class Namespace {
    public static final long ROOT_INO = 1;

    private final Map<Long, InodeRecord> inodes = new HashMap<>();
    private final Map<Long, TreeMap<String, Long>> directories = new HashMap<>();
    private long nextIno = ROOT_INO + 1;
    private volatile Timelines timelines = Timelines.FIRST; // read without the lock by page reads
    /** The WAL segment files in pg_wal by inode: their names ({@link #walSegmentName}). */
    private final Map<Long, String> walSegments = new HashMap<>();
    private static final java.util.regex.Pattern WAL_SEGMENT = java.util.regex.Pattern.compile("[0-9A-F]{24}");

    /** The chain of timelines up to the current one; readable without the namespace lock. */
    public Timelines timelines() {
        return timelines;
    }

    public boolean isEmpty() {
        return inodes.isEmpty();
    }

    /** Every inode, unlinked ones still open included (nlink 0). */
    public java.util.Collection<InodeRecord> inodes() {
        return java.util.Collections.unmodifiableCollection(inodes.values());
    }

    public InodeRecord inode(long ino) {
        return inodes.get(ino);
    }

    public long nextIno() {
        return nextIno;
    }

    public int inodeCount() {
        return inodes.size();
    }

    /** The entries of a directory, sorted by name; null if {@code ino} is not a directory. */
    public NavigableMap<String, Long> children(long ino) {
        return directories.get(ino);
    }

    /** The longest name a directory entry may have, in bytes (Linux's NAME_MAX). */
    public static final int NAME_MAX = 255;

    /** Whether {@code name} is longer than {@link #NAME_MAX} bytes in UTF-8. */
    public static boolean tooLong(String name) {
        // 85 chars are at most 255 bytes (3 per char; a surrogate pair is 4 for 2): count only beyond
        return name.length() > NAME_MAX / 3 && name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > NAME_MAX;
    }

    /**
     * Resolves an absolute path; returns the inode number or -errno (ENAMETOOLONG for a component
     * longer than NAME_MAX, as Linux file systems answer before looking; ENOENT, ENOTDIR).
     */
    public long resolve(String path) {
        long ino = ROOT_INO;
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (tooLong(part)) {
                return -Errno.ENAMETOOLONG;
            }
            TreeMap<String, Long> dir = directories.get(ino);
            if (dir == null) {
                return -Errno.ENOTDIR;
            }
            if (part.equals("..")) {
                return -Errno.EINVAL; // the kernel resolves "..", paths here are canonical
            }
            Long child = dir.get(part);
            if (child == null) {
                return -Errno.ENOENT;
            }
            ino = child;
        }
        return ino;
    }

    /** The name of the pg_wal segment file {@code ino} is ({@code TTTTTTTTXXXXXXXXYYYYYYYY}), or null. */
    public String walSegmentName(long ino) {
        return walSegments.get(ino);
    }

    private void indexWalSegments() {
        walSegments.clear();
        TreeMap<String, Long> root = directories.get(ROOT_INO);
        Long pgWal = root == null ? null : root.get("pg_wal");
        TreeMap<String, Long> dir = pgWal == null ? null : directories.get(pgWal);
        if (dir != null) {
            for (Map.Entry<String, Long> e : dir.entrySet()) {
                if (WAL_SEGMENT.matcher(e.getKey()).matches()) {
                    walSegments.put(e.getValue(), e.getKey());
                }
            }
        }
    }

    private boolean touchesWalDirectory(JournalRecord r) {
        if (r.getDropInodesCount() > 0) {
            return true;
        }
        TreeMap<String, Long> root = directories.get(ROOT_INO);
        Long pgWal = root == null ? null : root.get("pg_wal");
        for (DirentRecord d : r.getPutDirentsList()) {
            if (d.getParent() == ROOT_INO || (pgWal != null && d.getParent() == pgWal)) {
                return true;
            }
        }
        for (DirentRecord d : r.getDeleteDirentsList()) {
            if (d.getParent() == ROOT_INO || (pgWal != null && d.getParent() == pgWal)) {
                return true;
            }
        }
        return false;
    }

    public void apply(JournalRecord r) {
        boolean walDirectory = touchesWalDirectory(r);
        if (r.hasTimelineStart() && r.getTimelineStart().getTimeline() > timelines.current().timeline()) {
            timelines = timelines.branched(r.getTimelineStart().getTimeline(), r.getTimelineStart().getBranchLsn(), r.getSeq(),
                    r.getTimelineStart().getParentCutSeq());
        }
        for (InodeRecord inode : r.getPutInodesList()) {
            inodes.put(inode.getIno(), inode);
            if (inode.getType() == NodeTypes.DIRECTORY) {
                directories.computeIfAbsent(inode.getIno(), i -> new TreeMap<>());
            }
        }
        // Entries are added before old ones are removed, so a rename never shows a gap.
        for (DirentRecord d : r.getPutDirentsList()) {
            directories.computeIfAbsent(d.getParent(), p -> new TreeMap<>()).put(d.getName(), d.getIno());
        }
        for (DirentRecord d : r.getDeleteDirentsList()) {
            TreeMap<String, Long> dir = directories.get(d.getParent());
            if (dir != null && Long.valueOf(d.getIno()).equals(dir.get(d.getName()))) {
                dir.remove(d.getName());
            }
        }
        for (long ino : r.getDropInodesList()) {
            inodes.remove(ino);
            directories.remove(ino);
        }
        if (r.getNextIno() > nextIno) {
            nextIno = r.getNextIno();
        }
        if (walDirectory || touchesWalDirectory(r)) {
            indexWalSegments();
        }
    }

    public NamespaceSnapshot snapshot(long seq) {
        NamespaceSnapshot.Builder b = NamespaceSnapshot.newBuilder().setSeq(seq).setNextIno(nextIno)
                .addAllTimelines(timelines.records());
        for (InodeRecord inode : inodes.values()) {
            if (inode.getNlink() > 0 || inode.getIno() == ROOT_INO) {
                b.addInodes(inode);
            }
        }
        for (Map.Entry<Long, TreeMap<String, Long>> dir : directories.entrySet()) {
            for (Map.Entry<String, Long> e : dir.getValue().entrySet()) {
                b.addDirents(DirentRecord.newBuilder().setParent(dir.getKey()).setName(e.getKey()).setIno(e.getValue()));
            }
        }
        return b.build();
    }

    public void load(NamespaceSnapshot s) {
        inodes.clear();
        directories.clear();
        walSegments.clear();
        timelines = Timelines.of(s.getTimelinesList());
        apply(JournalRecord.newBuilder().addAllPutInodes(s.getInodesList()).addAllPutDirents(s.getDirentsList())
                .setNextIno(s.getNextIno()).build());
    }
}
