package org.dbfs.fuse;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.dbfs.pgformat.RelationPath;
import org.dbfs.pgformat.RelationSegmentFile;

/**
 * What {@code dbfs import} writes, in order: every directory before what it holds, every file with
 * the bytes to copy, the root's own mode and owner, and {@code global/pg_control} apart, to be
 * written last (see {@link DataDirectoryImport}). Made by walking the source without following
 * symlinks, except {@code pg_wal}: a cluster made with {@code initdb --waldir} keeps its WAL
 * elsewhere behind that link, and the copy on DbFS holds it as a directory, as pg_basebackup's does.
 *
 * <p>Left out: postmaster.pid and postmaster.opts (what a running postmaster writes; the cluster
 * is stopped), what {@link WalTail} leaves out of pg_wal, and sockets, FIFOs and devices, which no
 * data directory holds (each is named in {@link #notes}).
 */
final class ImportPlan {
    private static final Set<String> LEFT_OUT = Set.of("/postmaster.pid", "/postmaster.opts");
    private static final String PG_WAL = "/pg_wal";

    enum Kind { DIRECTORY, FILE, SYMLINK }

    /**
     * One node to create. {@code copyBytes} of a file is how much of its {@code size} to copy (less
     * only for the segment the WAL ends in; the rest stays a hole).
     */
    record Entry(String path, Kind kind, int mode, int uid, int gid, long size, long copyBytes, String linkTarget, Path local,
                 Optional<RelationSegmentFile> relation) {}

    private final Path source;
    private final WalTail wal;
    private final List<Entry> entries = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private Entry root;
    private Entry controlFile;
    private long bytes;
    private long walFilesLeftOut;
    private long walBytesLeftOut;

    private ImportPlan(Path source, WalTail wal) {
        this.source = source;
        this.wal = wal;
    }

    static ImportPlan of(SourceDataDirectory.Checked source, WalTail wal) throws IOException {
        ImportPlan plan = new ImportPlan(source.dir(), wal);
        plan.root = plan.entry("/", source.dir(), Kind.DIRECTORY, null);
        plan.walk("/", source.dir());
        if (plan.controlFile == null) {
            throw new IOException(source.dir().resolve(SourceDataDirectory.CONTROL_FILE) + " vanished while the import"
                    + " looked at it: is something changing " + source.dir() + "?");
        }
        return plan;
    }

    /** Directories, symlinks and files, parents first; without the root and pg_control. */
    List<Entry> entries() {
        return entries;
    }

    /** The root: its mode and owner become the DbFS root's. */
    Entry root() {
        return root;
    }

    Entry controlFile() {
        return controlFile;
    }

    /** The bytes to copy, pg_control included. */
    long bytes() {
        return bytes;
    }

    long walFilesLeftOut() {
        return walFilesLeftOut;
    }

    long walBytesLeftOut() {
        return walBytesLeftOut;
    }

    /** What the import did not copy as it found it, one line each, for the operator. */
    List<String> notes() {
        return notes;
    }

    private void walk(String dirPath, Path dir) throws IOException {
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            stream.forEach(children::add);
        }
        children.sort(null); // a stable order, so two imports of one directory write alike
        for (Path child : children) {
            String path = (dirPath.equals("/") ? "" : dirPath) + "/" + child.getFileName();
            if (LEFT_OUT.contains(path)) {
                continue;
            }
            BasicFileAttributes a = Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (a.isSymbolicLink() && path.equals(PG_WAL) && Files.isDirectory(child)) {
                Path target = child.toRealPath();
                entries.add(entry(path, target, Kind.DIRECTORY, null));
                walk(path, target);
            } else if (a.isDirectory()) {
                entries.add(entry(path, child, Kind.DIRECTORY, null));
                walk(path, child);
            } else if (a.isSymbolicLink()) {
                String target = Files.readSymbolicLink(child).toString();
                entries.add(entry(path, child, Kind.SYMLINK, target));
                if (Path.of(target).isAbsolute()) {
                    notes.add(path + " is a symlink to " + target + ": copied as that symlink, which points into the file"
                            + " system of the machine PostgreSQL runs on, not into DbFS");
                }
            } else if (a.isRegularFile()) {
                addFile(path, child, a.size(), dirPath);
            } else {
                notes.add(path + " is not a file, directory or symlink (a socket, FIFO or device): left out");
            }
        }
    }

    private void addFile(String path, Path local, long size, String dirPath) throws IOException {
        long copy = dirPath.equals(PG_WAL) ? wal.bytesToCopy(local.getFileName().toString(), size) : size;
        if (copy < 0) {
            walFilesLeftOut++;
            walBytesLeftOut += size;
            return;
        }
        if (copy < size) {
            walBytesLeftOut += size - copy;
        }
        Entry e = entry(path, local, Kind.FILE, null);
        e = new Entry(e.path(), e.kind(), e.mode(), e.uid(), e.gid(), size, copy, null, local, RelationPath.parse(path));
        bytes += copy;
        if (path.equals("/" + SourceDataDirectory.CONTROL_FILE)) {
            controlFile = e;
        } else {
            entries.add(e);
        }
    }

    private Entry entry(String path, Path local, Kind kind, String linkTarget) throws IOException {
        Map<String, Object> unix = Files.readAttributes(local, "unix:mode,uid,gid", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) unix.get("mode") & 07777;
        return new Entry(path, kind, mode, (Integer) unix.get("uid"), (Integer) unix.get("gid"), 0, 0, linkTarget, local,
                Optional.empty());
    }

    Path source() {
        return source;
    }
}
