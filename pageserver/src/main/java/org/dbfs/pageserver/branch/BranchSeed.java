package org.dbfs.pageserver.branch;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.dbfs.pageserver.store.FileSystemOps;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pageserver.store.TimelineBranch;
import org.dbfs.pgformat.BaseBackupExclusions;
import org.dbfs.pgformat.ControlFile;
import org.dbfs.pgformat.RelationPath;
import org.dbfs.pgformat.RelationSegmentFile;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.BranchEntry;
import org.dbfs.protocol.pageserver.v1.BranchInfo;
import org.dbfs.protocol.pageserver.v1.BranchRequest;
import org.dbfs.protocol.pageserver.v1.DataDirSnapshot;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.NodeReply;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.SetAttrRequest;
import org.dbfs.protocol.pageserver.v1.SnapshotEntry;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first start of a branch page server: its store is empty, and becomes the parent's data
 * directory as of the branch point X_end in one journal record (a {@link TimelineBranch}, as a
 * promotion makes): the files of the parent's snapshot before X_end, relation files by relation
 * and size, whose pages the parent serves pinned ({@link ParentPages}) until the branch writes its
 * own. The data directory is left set up to finish recovery at X_end and promote there:
 * pg_control's {@code minRecoveryPoint = X_end}, {@code recovery.signal}, and the recovery target in
 * {@code postgresql.auto.conf}. PostgreSQL started on a read-write mount of the branch replays the
 * parent's WAL from the snapshot's redo point (restore_command from the parent's archive) and
 * becomes the branch's primary on a timeline of its own.
 */
public final class BranchSeed {
    private static final Logger log = LoggerFactory.getLogger(BranchSeed.class);
    private static final String STAGING = "/.dbfs-branch-staging";
    static final String SETTINGS_MARKER = "# dbfs branch:";

    private BranchSeed() {}

    /** Seeds the store from the parent if it holds no data directory yet; returns whether it did. */
    public static boolean seedIfEmpty(PageStore store, ParentPages parent, String branch) throws IOException {
        FileSystemOps fs = new FileSystemOps(store);
        if (fs.getAttr(BaseBackupExclusions.CONTROL_FILE).getErrno() == 0) {
            return false;
        }
        long started = System.nanoTime();
        BranchInfo info;
        DataDirSnapshot snapshot;
        try {
            info = parent.registration();
            snapshot = DataDirSnapshot.parseFrom(parent.snapshot(info.getSnapshot()));
        } catch (io.grpc.StatusRuntimeException e) {
            throw new IOException("branch " + branch + " has no data directory yet, and its parent page server "
                    + parent.target() + " cannot give one: " + e.getStatus().getCode() + " (" + e.getStatus().getDescription()
                    + "). Start the parent's page server first; create the branch there with dbfs branch create", e);
        } catch (InvalidProtocolBufferException e) {
            throw new IOException("a snapshot from " + parent.target() + " does not parse", e);
        }
        long at = info.getXEnd();
        fs.makeNode(MakeNodeRequest.newBuilder().setPath(STAGING).setType(NodeType.DIRECTORY).setMode(0700).build());
        List<BranchEntry> entries = new ArrayList<>();
        String uid = null;
        long plainBytes = 0;
        for (SnapshotEntry e : snapshot.getEntriesList()) {
            BranchEntry.Builder b = BranchEntry.newBuilder().setPath(e.getPath()).setType(e.getType()).setMode(e.getMode())
                    .setUid(e.getUid()).setGid(e.getGid()).setMtimeNs(e.getMtimeNs()).setSymlinkTarget(e.getSymlinkTarget());
            if (e.getType() == NodeType.REGULAR && e.getRelation()) {
                Optional<RelationSegmentFile> rel = RelationPath.parse(e.getPath());
                if (rel.isEmpty()) {
                    throw new IOException("snapshot " + info.getSnapshot() + ": " + e.getPath() + " is marked a relation file"
                            + " but its name does not say which");
                }
                b.setRel(RelTagMessages.toMessage(rel.get().rel())).setRelSegno(rel.get().segno()).setSize(e.getSize());
            } else if (e.getType() == NodeType.REGULAR) {
                byte[] data = contents(e, at, info.getTimeline(), info);
                b.setSize(data.length);
                if (data.length > 0) {
                    b.setStagedIno(stage(fs, entries.size(), data));
                    plainBytes += data.length;
                }
            }
            entries.add(b.build());
            if (e.getPath().equals("/")) {
                uid = e.getUid() + ":" + e.getGid();
            }
        }
        SnapshotEntry root = snapshot.getEntries(0);
        entries.add(BranchEntry.newBuilder().setPath("/recovery.signal").setType(NodeType.REGULAR).setMode(0600)
                .setUid(root.getUid()).setGid(root.getGid()).setMtimeNs(System.currentTimeMillis() * 1_000_000L).build());
        if (entries.stream().noneMatch(e -> e.getPath().equals("/postgresql.auto.conf"))) {
            byte[] settings = settings(at, info.getTimeline(), info).getBytes(StandardCharsets.UTF_8);
            entries.add(BranchEntry.newBuilder().setPath("/postgresql.auto.conf").setType(NodeType.REGULAR).setMode(0600)
                    .setUid(root.getUid()).setGid(root.getGid()).setSize(settings.length)
                    .setStagedIno(stage(fs, entries.size(), settings)).build());
        }
        long startSeq = TimelineBranch.apply(store, BranchRequest.newBuilder().setTimeline(info.getTimeline() + 1)
                .setBranchLsn(at).addAllEntries(entries).build());
        store.sync();
        log.info("branch {}: seeded from {} as of {} (snapshot {}, checkpoint {}, redo {}): {} entries, {} bytes of plain"
                + " files (owner {}), journal seq {}, in {} ms; PostgreSQL on it recovers to {} and promotes", branch,
                parent.target(), Lsn.format(at), info.getSnapshot(), Lsn.format(snapshot.getCheckpoint()),
                Lsn.format(snapshot.getRedo()), entries.size(), plainBytes, uid, startSeq,
                (System.nanoTime() - started) / 1_000_000, Lsn.format(at));
        return true;
    }

    /** A plain file as the branch starts with it: pg_control and postgresql.auto.conf set up to stop at X_end. */
    private static byte[] contents(SnapshotEntry e, long at, int timeline, BranchInfo info) {
        byte[] data = e.getData().toByteArray();
        return switch (e.getPath()) {
            case BaseBackupExclusions.CONTROL_FILE -> ControlFile.withMinRecoveryPoint(data, at, timeline);
            case "/postgresql.auto.conf" -> (new String(data, StandardCharsets.UTF_8) + settings(at, timeline, info))
                    .getBytes(StandardCharsets.UTF_8);
            default -> data;
        };
    }

    /**
     * Archive recovery to X_end, then promotion: exclusive, so replay stops right after the last
     * record that ends at X_end, as a time-travel mount does. No primary to follow; no synchronous
     * standby until the branch's own WAL service is set up.
     */
    private static String settings(long at, int timeline, BranchInfo info) {
        return "\n" + SETTINGS_MARKER + " " + info.getName() + ", branched from its parent at " + Lsn.format(at) + "\n"
                + "recovery_target_lsn = '" + Lsn.format(at) + "'\n"
                + "recovery_target_inclusive = off\n"
                + "recovery_target_action = 'promote'\n"
                + "recovery_target_timeline = '" + timeline + "'\n"
                + "primary_conninfo = ''\n"
                + "primary_slot_name = ''\n"
                + "synchronous_standby_names = ''\n";
    }

    private static long stage(FileSystemOps fs, int n, byte[] data) throws IOException {
        NodeReply made = fs.makeNode(MakeNodeRequest.newBuilder().setPath(STAGING + "/" + n).setType(NodeType.REGULAR)
                .setMode(0600).build()).reply();
        if (made.getErrno() != 0) {
            throw new IOException("cannot stage " + STAGING + "/" + n + ": errno " + made.getErrno());
        }
        long ino = made.getAttr().getIno();
        // An earlier, interrupted seed may have left a longer file here.
        int cut = fs.setAttr(SetAttrRequest.newBuilder().setIno(ino).setSize(0).build()).reply().getErrno();
        int errno = cut != 0 ? cut : fs.writeFile(WriteFileRequest.newBuilder().setIno(ino).setOffset(0).setData(ByteString.copyFrom(data))
                .build()).reply().getErrno();
        if (errno != 0) {
            throw new IOException("cannot write " + STAGING + "/" + n + ": errno " + errno);
        }
        return ino;
    }
}
