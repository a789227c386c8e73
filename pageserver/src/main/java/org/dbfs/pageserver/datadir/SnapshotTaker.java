package org.dbfs.pageserver.datadir;

import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import org.dbfs.pageserver.store.FileSystemOps;
import org.dbfs.pgformat.BaseBackupExclusions;
import org.dbfs.pgformat.ControlFile;
import org.dbfs.pgformat.ControlFileException;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.DataDirSnapshot;
import org.dbfs.protocol.pageserver.v1.DirEntry;
import org.dbfs.protocol.pageserver.v1.NodeAttr;
import org.dbfs.protocol.pageserver.v1.NodeReply;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.ReadDirReply;
import org.dbfs.protocol.pageserver.v1.ReadFileReply;
import org.dbfs.protocol.pageserver.v1.ReadLinkReply;
import org.dbfs.protocol.pageserver.v1.SnapshotEntry;

/**
 * Takes a data-directory snapshot of the root, inside the page server: what a read-only mount's
 * copy ({@code DataDirectoryCopy} in dbfs-fuse) would hold, as one message. The order is
 * pg_basebackup's, for pg_basebackup's reason: pg_control first, so the checkpoint it names is
 * complete in every file copied after it (CheckPointGuts writes clog, multixact and the rest out
 * before pg_control names the checkpoint, and the mount passes those writes on before pg_control's
 * fsync returns); then every other file; then S, the end of WAL found after the last copy, which
 * covers every change a copied file can show. Replay from the checkpoint's redo point to S, and on
 * to the mount's point, repairs whatever a copy caught mid-change.
 */
public final class SnapshotTaker {
    private static final int CHUNK = 1 << 20;

    /** Why no snapshot can be taken now (not a data directory yet, tablespaces, no WAL). */
    public static final class NotTakenException extends Exception {
        NotTakenException(String message) {
            super(message);
        }
    }

    private final FileSystemOps fs;
    private final DataDirSnapshot.Builder out = DataDirSnapshot.newBuilder();
    private byte[] control;

    private SnapshotTaker(FileSystemOps fs) {
        this.fs = fs;
    }

    /** The checkpoint pg_control names now, or -1 if the root is not a data directory (yet). */
    public static long currentCheckpoint(FileSystemOps fs) {
        try {
            return ControlFile.parse(readControl(fs)).checkPoint();
        } catch (NotTakenException | ControlFileException e) {
            return -1;
        }
    }

    public static DataDirSnapshot take(FileSystemOps fs, long takenAtMs) throws NotTakenException {
        return new SnapshotTaker(fs).run(takenAtMs);
    }

    private DataDirSnapshot run(long takenAtMs) throws NotTakenException {
        control = readControl(fs);
        ControlFile c;
        try {
            c = ControlFile.parse(control);
        } catch (ControlFileException e) {
            throw new NotTakenException(BaseBackupExclusions.CONTROL_FILE + " does not parse: " + e.getMessage());
        }
        ReadDirReply tablespaces = fs.readDir("/pg_tblspc");
        if (tablespaces.getErrno() == 0 && tablespaces.getEntriesCount() > 0) {
            throw new NotTakenException("the data directory has tablespaces (pg_tblspc/" + tablespaces.getEntries(0).getName()
                    + "); snapshots do not support tablespaces yet");
        }
        NodeReply root = fs.getAttr("/");
        entry("/", root.getAttr());
        directory("/", root.getAttr());
        WalEnd.Found end;
        try {
            end = WalEnd.find(fs);
        } catch (WalEnd.NotFoundException e) {
            throw new NotTakenException(e.getMessage());
        }
        if (Long.compareUnsigned(end.lsn(), c.checkPoint()) <= 0) {
            throw new NotTakenException("the WAL in pg_wal ends at " + Lsn.format(end.lsn()) + ", at or before the checkpoint "
                    + Lsn.format(c.checkPoint()) + " pg_control names");
        }
        return out.setWalEnd(end.lsn()).setTimeline(end.timeline()).setCheckpoint(c.checkPoint())
                .setRedo(c.checkPointRedo()).setSystemIdentifier(c.systemIdentifier()).setTakenAtMs(takenAtMs).build();
    }

    private void directory(String path, NodeAttr attr) {
        if (BaseBackupExclusions.isEmptied(path)) {
            return;
        }
        ReadDirReply listing = fs.readDir(path);
        if (listing.getErrno() != 0) {
            return; // removed while copying: replay removes it too
        }
        for (DirEntry e : listing.getEntriesList()) {
            String child = (path.equals("/") ? "" : path) + "/" + e.getName();
            if (BaseBackupExclusions.isExcluded(child, e.getName())) {
                continue;
            }
            NodeAttr a = e.getAttr();
            if (a.getType() == NodeType.DIRECTORY) {
                entry(child, a);
                directory(child, a);
            } else if (a.getType() == NodeType.SYMLINK) {
                ReadLinkReply link = fs.readLink(child);
                if (link.getErrno() == 0) {
                    out.addEntries(base(child, a).setSymlinkTarget(link.getTarget()));
                }
            } else if (a.getType() == NodeType.REGULAR && !a.hasRel()) {
                byte[] data = child.equals(BaseBackupExclusions.CONTROL_FILE) ? control : read(fs, a.getIno());
                if (data != null) {
                    out.addEntries(base(child, a).setSize(data.length).setData(ByteString.copyFrom(data)));
                }
            } else {
                entry(child, a);
            }
        }
    }

    private void entry(String path, NodeAttr a) {
        out.addEntries(base(path, a).setRelation(a.hasRel()));
    }

    private static SnapshotEntry.Builder base(String path, NodeAttr a) {
        return SnapshotEntry.newBuilder().setPath(path).setType(a.getType()).setMode(a.getMode()).setUid(a.getUid())
                .setGid(a.getGid()).setSize(a.getSize()).setMtimeNs(a.getMtimeNs());
    }

    private static byte[] readControl(FileSystemOps fs) throws NotTakenException {
        NodeReply node = fs.getAttr(BaseBackupExclusions.CONTROL_FILE);
        byte[] data = node.getErrno() != 0 ? null : read(fs, node.getAttr().getIno());
        if (data == null) {
            throw new NotTakenException("the root is not a PostgreSQL data directory (" + BaseBackupExclusions.CONTROL_FILE
                    + " is missing)");
        }
        return data;
    }

    /** The file's bytes as they are now, or null if it was removed meanwhile. */
    private static byte[] read(FileSystemOps fs, long ino) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        for (long offset = 0; ; ) {
            ReadFileReply r = fs.readFile(ino, offset, CHUNK);
            if (r.getErrno() != 0) {
                return null;
            }
            buf.writeBytes(r.getData().toByteArray());
            offset += r.getData().size();
            if (r.getData().size() < CHUNK) {
                return buf.toByteArray();
            }
        }
    }
}
