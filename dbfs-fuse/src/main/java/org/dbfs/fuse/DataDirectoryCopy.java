package org.dbfs.fuse;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.dbfs.pgformat.BaseBackupExclusions;
import org.dbfs.pgformat.ControlFile;
import org.dbfs.pgformat.ControlFileException;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.DirEntry;
import org.dbfs.protocol.pageserver.v1.GetWalEndReply;
import org.dbfs.protocol.pageserver.v1.NodeAttr;
import org.dbfs.protocol.pageserver.v1.NodeReply;
import org.dbfs.protocol.pageserver.v1.ReadDirReply;
import org.dbfs.protocol.pageserver.v1.ReadFileReply;
import org.dbfs.protocol.pageserver.v1.ReadLinkReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes a read-only mount's snapshot: a base backup of the primary's data directory in which
 * relation files are only their sizes (sparse files), because their pages are read from the page
 * server at the replica's LSN instead.
 *
 * <p>The order is pg_basebackup's and so is the argument for it: pg_control first, so its
 * checkpoint's redo point is no later than anything copied after it; then every other file, in any
 * order, while the primary runs; then S, the WAL end found after the last copy. Replay from the
 * checkpoint to S repairs whatever the copies caught mid-change, and the copy's pg_control carries
 * {@code minRecoveryPoint = S}, so the standby opens for queries only there (xlogrecovery.c,
 * CheckRecoveryConsistency). What pg_basebackup leaves out is left out here too (basebackup.c's
 * excludeDirContents and excludeFiles), as is the primary's WAL, which the standby fetches itself.
 */
final class DataDirectoryCopy {
    private static final Logger log = LoggerFactory.getLogger(DataDirectoryCopy.class);

    static final String CONTROL_FILE = BaseBackupExclusions.CONTROL_FILE;
    private static final int CHUNK = 1 << 20;

    private final PageServerClient client;
    private final Path target;
    private long files;
    private long bytes;
    private long relationFiles;

    private DataDirectoryCopy(PageServerClient client, Path target) {
        this.client = client;
        this.target = target;
    }

    /**
     * Copies the page server's data directory into {@code target} (which must not exist yet).
     *
     * @throws IOException with what to do, if the page server has no data directory or no WAL to go with it
     */
    static ReplicaOverlay.Snapshot copy(PageServerClient client, Path target, String pageServer) throws IOException {
        return new DataDirectoryCopy(client, target).run(pageServer);
    }

    private ReplicaOverlay.Snapshot run(String pageServer) throws IOException {
        long started = System.nanoTime();
        NodeReply controlNode = client.getAttr(CONTROL_FILE);
        if (controlNode.getErrno() != 0) {
            throw new IOException("page server " + pageServer + " holds no PostgreSQL data directory at its root ("
                    + CONTROL_FILE + " is missing): run initdb on the read-write mount first");
        }
        byte[] control = readFile(controlNode.getAttr());
        ControlFile controlFile;
        try {
            controlFile = ControlFile.parse(control);
        } catch (ControlFileException e) {
            throw new IOException(CONTROL_FILE + " on page server " + pageServer + " is not usable: " + e.getMessage(), e);
        }
        ReadDirReply tablespaces = client.readDir("/pg_tblspc");
        if (tablespaces.getErrno() == 0 && tablespaces.getEntriesCount() > 0) {
            throw new IOException("the data directory has tablespaces (pg_tblspc/" + tablespaces.getEntries(0).getName()
                    + "); read-only mounts do not support tablespaces yet");
        }
        Files.createDirectories(target);
        NodeReply root = client.getAttr("/");
        copyDirectory("/", target, root.getAttr());
        GetWalEndReply end;
        try {
            end = client.getWalEnd();
        } catch (io.grpc.StatusRuntimeException e) {
            throw new IOException("page server " + pageServer + " cannot say where its WAL ends: "
                    + e.getStatus().getDescription(), e);
        }
        if (end.getSystemIdentifier() != controlFile.systemIdentifier()) {
            throw new IOException("pg_wal belongs to another cluster (system identifier "
                    + Long.toUnsignedString(end.getSystemIdentifier()) + ", pg_control says "
                    + Long.toUnsignedString(controlFile.systemIdentifier()) + ")");
        }
        if (Long.compareUnsigned(end.getLsn(), controlFile.checkPoint()) <= 0) {
            throw new IOException("the WAL in pg_wal ends at " + Lsn.format(end.getLsn()) + ", before the checkpoint "
                    + Lsn.format(controlFile.checkPoint()) + " pg_control names: the data directory is damaged");
        }
        Path controlCopy = local(CONTROL_FILE);
        Files.write(controlCopy, ControlFile.withMinRecoveryPoint(control, end.getLsn(), end.getTimeline()));
        finish(controlCopy, controlNode.getAttr());
        LocalFiles.fsync(controlCopy);
        LocalFiles.fsync(controlCopy.getParent());
        log.info("copied the data directory's {} files ({} bytes) and {} relation files (as sizes) in {} ms; "
                + "checkpoint {} (redo {}), snapshot S = {} on timeline {}", files, bytes, relationFiles,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), Lsn.format(controlFile.checkPoint()),
                Lsn.format(controlFile.checkPointRedo()), Lsn.format(end.getLsn()), end.getTimeline());
        return new ReplicaOverlay.Snapshot(end.getLsn(), end.getTimeline(), controlFile.systemIdentifier(), pageServer,
                Instant.now(), "replica-" + java.util.UUID.randomUUID());
    }

    private void copyDirectory(String path, Path dir, NodeAttr attr) throws IOException {
        if (!BaseBackupExclusions.isEmptied(path)) {
            ReadDirReply listing = client.readDir(path);
            if (listing.getErrno() != 0) {
                return; // removed while copying: replay removes it too
            }
            for (DirEntry e : listing.getEntriesList()) {
                String child = (path.equals("/") ? "" : path) + "/" + e.getName();
                if (child.equals(CONTROL_FILE) || BaseBackupExclusions.isExcluded(child, e.getName())) {
                    continue;
                }
                copyNode(child, e.getAttr());
            }
        } else if (path.equals("/pg_wal")) {
            Files.createDirectories(dir.resolve("archive_status"));
            LocalFiles.setOwnerAndMode(dir.resolve("archive_status"), attr.getUid(), attr.getGid(), attr.getMode());
        }
        finish(dir, attr);
        LocalFiles.fsync(dir);
    }

    private void copyNode(String path, NodeAttr attr) throws IOException {
        Path p = local(path);
        switch (attr.getType()) {
            case DIRECTORY -> {
                Files.createDirectory(p);
                copyDirectory(path, p, attr);
            }
            case SYMLINK -> {
                ReadLinkReply link = client.readLink(path);
                if (link.getErrno() != 0) {
                    return;
                }
                Files.createSymbolicLink(p, Path.of(link.getTarget()));
                LocalFiles.setOwnerAndMode(p, attr.getUid(), attr.getGid(), attr.getMode());
            }
            default -> {
                if (attr.hasRel()) {
                    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                        f.setLength(attr.getSize()); // a hole: the pages come from the page server
                    }
                    relationFiles++;
                } else {
                    byte[] content;
                    try {
                        content = readFile(attr);
                    } catch (NoSuchFile gone) {
                        return; // removed while copying: replay removes it too
                    }
                    try (OutputStream out = Files.newOutputStream(p)) {
                        out.write(content);
                    }
                    files++;
                    bytes += content.length;
                }
                finish(p, attr);
                LocalFiles.fsync(p);
            }
        }
    }

    private static final class NoSuchFile extends IOException {
        NoSuchFile() {
            super("removed while copying");
        }
    }

    private byte[] readFile(NodeAttr attr) throws IOException {
        long size = attr.getSize();
        if (size > Integer.MAX_VALUE - 8) {
            throw new IOException("a " + size + "-byte file that is not a relation file: too large to copy");
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream((int) size);
        for (long offset = 0; ; ) {
            ReadFileReply r = client.readFile(attr.getIno(), offset, CHUNK);
            if (r.getErrno() != 0) {
                throw new NoSuchFile();
            }
            r.getData().writeTo(out);
            offset += r.getData().size();
            if (r.getData().size() < CHUNK) {
                return out.toByteArray(); // at the end of the file as it is now
            }
        }
    }

    private void finish(Path p, NodeAttr attr) throws IOException {
        LocalFiles.setOwnerAndMode(p, attr.getUid(), attr.getGid(), attr.getMode());
        FileTime mtime = FileTime.from(NodeStats.instant(attr.getMtimeNs()));
        Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(mtime, null, null);
    }

    private Path local(String path) {
        return path.equals("/") ? target : target.resolve(path.substring(1));
    }
}
