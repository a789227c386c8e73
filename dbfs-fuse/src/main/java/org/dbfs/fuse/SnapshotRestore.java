package org.dbfs.fuse;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import org.dbfs.pgformat.BaseBackupExclusions;
import org.dbfs.pgformat.ControlFile;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.DataDirSnapshot;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.ReadSnapshotReply;
import org.dbfs.protocol.pageserver.v1.ResolvePointReply;
import org.dbfs.protocol.pageserver.v1.SnapshotEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Unpacks a page server's data-directory snapshot into a time-travel mount's overlay, set up to
 * stop at the mount's point: pg_control gets {@code minRecoveryPoint = X_end}, so the standby opens
 * for queries only once it has replayed that far, and the recovery target is X_end itself
 * (exclusive, then pause), so it replays no further. Relation files are sparse, as in a replica's
 * copy: their pages come from the page server as of X_end.
 */
final class SnapshotRestore {
    private static final Logger log = LoggerFactory.getLogger(SnapshotRestore.class);
    static final String SETTINGS_MARKER = "# dbfs time travel:";

    private SnapshotRestore() {}

    /** Fills {@code target} (which must not exist) from {@code point}'s snapshot. */
    static void restore(PageServerClient client, Path target, ResolvePointReply point) throws IOException {
        long started = System.nanoTime();
        DataDirSnapshot snapshot = fetch(client, point.getSnapshot().getName());
        if (snapshot.getSystemIdentifier() != point.getSystemIdentifier()) {
            throw new IOException("snapshot " + point.getSnapshot().getName() + " is of the cluster with system identifier "
                    + Long.toUnsignedString(snapshot.getSystemIdentifier()) + ", the WAL of "
                    + Long.toUnsignedString(point.getSystemIdentifier()));
        }
        Files.createDirectories(target);
        List<SnapshotEntry> directories = new ArrayList<>();
        SnapshotEntry root = null;
        long files = 0;
        long bytes = 0;
        for (SnapshotEntry e : snapshot.getEntriesList()) {
            Path p = local(target, e.getPath());
            switch (e.getType()) {
                case DIRECTORY -> {
                    if (!e.getPath().equals("/")) {
                        Files.createDirectory(p);
                    } else {
                        root = e;
                    }
                    if (e.getPath().equals("/pg_wal")) {
                        Files.createDirectory(p.resolve("archive_status"));
                        LocalFiles.setOwnerAndMode(p.resolve("archive_status"), e.getUid(), e.getGid(), e.getMode());
                    }
                    directories.add(e);
                    continue;
                }
                case SYMLINK -> Files.createSymbolicLink(p, Path.of(e.getSymlinkTarget()));
                case REGULAR -> {
                    if (e.getRelation()) {
                        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                            f.setLength(e.getSize()); // a hole: the pages come from the page server
                        }
                    } else {
                        byte[] data = e.getPath().equals(BaseBackupExclusions.CONTROL_FILE)
                                ? ControlFile.withMinRecoveryPoint(e.getData().toByteArray(), point.getLsn(), point.getTimeline())
                                : e.getData().toByteArray();
                        Files.write(p, data);
                        files++;
                        bytes += data.length;
                    }
                }
                default -> {
                    log.warn("snapshot {}: {} is a {}, left out (a data directory holds none)",
                            point.getSnapshot().getName(), e.getPath(), e.getType());
                    continue;
                }
            }
            finish(p, e);
            if (e.getType() == NodeType.REGULAR) {
                LocalFiles.fsync(p);
            }
        }
        if (root == null) {
            throw new IOException("snapshot " + point.getSnapshot().getName() + " has no root directory entry");
        }
        configureStop(target, root, point);
        for (SnapshotEntry d : directories.reversed()) { // children first: creating them moved their parents' mtimes
            Path p = local(target, d.getPath());
            finish(p, d);
            LocalFiles.fsync(p);
        }
        log.info("restored snapshot {} (checkpoint {}, WAL end {}): {} files, {} bytes, {} entries, in {} ms; stops at {}",
                point.getSnapshot().getName(), Lsn.format(snapshot.getCheckpoint()), Lsn.format(snapshot.getWalEnd()), files,
                bytes, snapshot.getEntriesCount(), (System.nanoTime() - started) / 1_000_000, Lsn.format(point.getLsn()));
    }

    /**
     * standby.signal, and the recovery target appended to postgresql.auto.conf (read last, so it
     * wins over postgresql.conf). Exclusive: the standby stops before the first record that starts
     * at or after X_end, i.e. right after the last record that ends there. Pause keeps it in
     * recovery, open for queries; no primary_conninfo, since it must not follow the primary.
     */
    private static void configureStop(Path target, SnapshotEntry root, ResolvePointReply point) throws IOException {
        Path signal = target.resolve("standby.signal");
        Files.write(signal, new byte[0]);
        LocalFiles.setOwnerAndMode(signal, root.getUid(), root.getGid(), 0600);
        LocalFiles.fsync(signal);
        Path auto = target.resolve("postgresql.auto.conf");
        boolean existed = Files.exists(auto);
        String settings = "\n" + SETTINGS_MARKER + " this data directory shows the cluster as of " + Lsn.format(point.getLsn())
                + " (snapshot " + point.getSnapshot().getName() + ")\n"
                + "recovery_target_lsn = '" + Lsn.format(point.getLsn()) + "'\n"
                + "recovery_target_inclusive = off\n"
                + "recovery_target_action = 'pause'\n"
                + "recovery_target_timeline = '" + point.getTimeline() + "'\n"
                + "hot_standby = on\n"
                + "primary_conninfo = ''\n"
                + "primary_slot_name = ''\n";
        Files.writeString(auto, settings, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
        if (!existed) {
            LocalFiles.setOwnerAndMode(auto, root.getUid(), root.getGid(), 0600);
        }
        LocalFiles.fsync(auto);
    }

    private static DataDirSnapshot fetch(PageServerClient client, String name) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        long total;
        do {
            ReadSnapshotReply r = client.readSnapshot(name, buf.size());
            total = r.getTotalSize();
            if (r.getData().isEmpty() && buf.size() < total) {
                throw new IOException("snapshot " + name + " ended at byte " + buf.size() + " of " + total);
            }
            buf.writeBytes(r.getData().toByteArray());
        } while (buf.size() < total);
        try {
            return DataDirSnapshot.parseFrom(buf.toByteArray());
        } catch (InvalidProtocolBufferException e) {
            throw new IOException("snapshot " + name + " does not parse: " + e.getMessage(), e);
        }
    }

    private static void finish(Path p, SnapshotEntry e) throws IOException {
        LocalFiles.setOwnerAndMode(p, e.getUid(), e.getGid(), e.getMode());
        FileTime mtime = FileTime.from(NodeStats.instant(e.getMtimeNs()));
        Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(mtime, null, null);
    }

    private static Path local(Path target, String path) {
        return path.equals("/") ? target : target.resolve(path.substring(1));
    }
}
