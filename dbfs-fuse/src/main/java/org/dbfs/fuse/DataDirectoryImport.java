package org.dbfs.fuse;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.util.stream.Collectors;
import org.dbfs.bucket.cli.Progress;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.NodeReply;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.ReadDirReply;
import org.dbfs.protocol.pageserver.v1.SetAttrRequest;

/**
 * Writes an {@link ImportPlan} onto a page server's empty root as a read-write mount would have
 * stored the same directory written by PostgreSQL: relation files created with their relation
 * (RelTag, segment) and written in whole pages with each page's pd_lsn, so that they are stored as
 * LSN-versioned pages; every other file as plain blocks; directories, symlinks, modes and owners as
 * they are.
 *
 * <p>Order: the cluster's writer lease first, as a read-write mount takes it, so that an import and
 * a writing mount never run at once (the page server refuses the second); then the check that the
 * root is empty; directories, symlinks and files; their data; {@code global/pg_control} last; one
 * Sync; the lease released. The page server's journal keeps acknowledged writes in order, so a
 * root with pg_control holds everything before it, whatever interrupted the import; a root without
 * it is not a data directory, and PostgreSQL refuses to start there.
 */
final class DataDirectoryImport {
    /** What an import did. */
    record Result(long directories, long files, long symlinks, long bytes, long epoch) {}

    private final ImportPlan plan;
    private final PageServerClient client;
    private final String pageServer;
    private long directories;
    private long files;
    private long symlinks;

    private DataDirectoryImport(ImportPlan plan, PageServerClient client, String pageServer) {
        this.plan = plan;
        this.client = client;
        this.pageServer = pageServer;
    }

    /** @throws IOException saying what failed and what to do; nothing is left half-done silently */
    static Result run(ImportPlan plan, String pageServer, Progress progress) throws IOException, InterruptedException {
        PageServerClient client;
        try {
            client = new PageServerClient(pageServer);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        try {
            return new DataDirectoryImport(plan, client, pageServer).run(progress);
        } catch (StatusRuntimeException e) {
            throw new IOException("page server " + pageServer + " failed: " + e.getStatus().getCode()
                    + (e.getStatus().getDescription() == null ? "" : " (" + e.getStatus().getDescription() + ")"), e);
        } finally {
            client.close();
        }
    }

    private Result run(Progress progress) throws IOException, InterruptedException {
        client.serverInfo(); // unreachable: fails here, before the lease is touched
        String holder = WriterLease.holder("dbfs import from " + plan.source());
        try (WriterLease lease = WriterLease.acquire(client, holder, "the import")) {
            checkEmptyRoot();
            try (ImportUploads uploads = new ImportUploads(client, progress)) {
                for (ImportPlan.Entry e : plan.entries()) {
                    long ino = create(e);
                    if (e.kind() == ImportPlan.Kind.FILE) {
                        uploads.copy(e, ino);
                    }
                }
                uploads.await();
                // Last, once everything else is acknowledged (and so before it in the journal).
                uploads.copyNow(plan.controlFile(), create(plan.controlFile()));
            }
            ImportPlan.Entry root = plan.root();
            check(client.setAttr(SetAttrRequest.newBuilder().setPath("/").setMode(root.mode()).setUid(root.uid())
                    .setGid(root.gid()).build()), "setting the mode and owner of the root");
            if (new SyncBarrier(client).sync() != 0) {
                throw new IOException("page server " + pageServer + " could not make the import durable (it restarted"
                        + " during the import, or its Sync failed; see above): the copy on DbFS is incomplete. Import again"
                        + " into a page server on a new, empty bucket");
            }
            return new Result(directories, files, symlinks, plan.bytes(), client.epoch());
        }
    }

    private void checkEmptyRoot() throws IOException {
        ReadDirReply root = client.readDir("/");
        if (root.getErrno() != 0) {
            throw new IOException("page server " + pageServer + " cannot list its root: " + LinuxErrno.describe(root.getErrno()));
        }
        if (root.getEntriesCount() > 0) {
            String names = root.getEntriesList().stream().limit(5).map(e -> e.getName())
                    .collect(Collectors.joining(", ", "", root.getEntriesCount() > 5 ? ", ..." : ""));
            throw new IOException("the DbFS root on page server " + pageServer + " is not empty (it holds " + names + "):"
                    + " dbfs import writes a whole data directory and never merges one into another or replaces files."
                    + " Import into a page server on a new, empty bucket");
        }
    }

    /** Creates the entry's node, exclusively (a clash means something else writes here); returns its inode. */
    private long create(ImportPlan.Entry e) throws IOException {
        MakeNodeRequest.Builder request = MakeNodeRequest.newBuilder().setPath(e.path()).setMode(e.mode()).setUid(e.uid())
                .setGid(e.gid()).setExclusive(true);
        switch (e.kind()) {
            case DIRECTORY -> {
                request.setType(NodeType.DIRECTORY);
                directories++;
            }
            case SYMLINK -> {
                request.setType(NodeType.SYMLINK).setSymlinkTarget(e.linkTarget());
                symlinks++;
            }
            case FILE -> {
                request.setType(NodeType.REGULAR);
                e.relation().ifPresent(r -> request.setRel(RelTagMessages.toMessage(r.rel())).setRelSegno(r.segno()));
                files++;
            }
        }
        NodeReply made = check(client.makeNode(request.build()), "creating " + e.path());
        long ino = made.getAttr().getIno();
        if (e.kind() == ImportPlan.Kind.FILE && e.copyBytes() < e.size()) {
            // The rest is a hole of the file's full size (WalTail: past the end of WAL).
            check(client.setAttr(SetAttrRequest.newBuilder().setIno(ino).setSize(e.size()).build()), "sizing " + e.path());
        }
        return ino;
    }

    private NodeReply check(NodeReply reply, String what) throws IOException {
        if (reply.getErrno() != 0) {
            throw new IOException(what + " on page server " + pageServer + " failed: " + LinuxErrno.describe(reply.getErrno()));
        }
        return reply;
    }
}
