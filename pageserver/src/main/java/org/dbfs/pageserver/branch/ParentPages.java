package org.dbfs.pageserver.branch;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.dbfs.bucket.cli.HostPort;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.grpc.ChannelReconnect;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.ReadOnlyAccess;
import org.dbfs.protocol.pageserver.v1.BranchInfo;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnReply;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnRequest;
import org.dbfs.protocol.pageserver.v1.ListBranchesRequest;
import org.dbfs.protocol.pageserver.v1.PageRef;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;
import org.dbfs.protocol.pageserver.v1.ReadSnapshotReply;
import org.dbfs.protocol.pageserver.v1.ReadSnapshotRequest;

/**
 * A branch page server's view of its parent (docs/branches.md): every page the branch has not
 * written itself is the parent's as of the branch point, read pinned to this branch (GetPage@LSN
 * with {@code pin}), so the parent's later writes, hint bits included, never show here. Read-only:
 * the parent's connection says so, and nothing the branch does reaches it.
 */
public final class ParentPages implements PageStore.HistoricReader, AutoCloseable {
    private static final int READ_WAIT_MS = 30_000;

    private final String target;
    private final String branch;
    private final ManagedChannel channel;
    private final PageServerGrpc.PageServerBlockingStub stub;

    public ParentPages(String parentPageServer, String branch) {
        HostPort parent = HostPort.parse("--parent-pageserver", parentPageServer);
        this.target = parentPageServer;
        this.branch = branch;
        Metadata readOnly = new Metadata();
        readOnly.put(ReadOnlyAccess.HEADER, ReadOnlyAccess.READ_ONLY);
        this.channel = NettyChannelBuilder.forAddress(parent.host(), parent.port()).usePlaintext()
                .maxInboundMessageSize(64 << 20).intercept(MetadataUtils.newAttachHeadersInterceptor(readOnly)).build();
        this.stub = PageServerGrpc.newBlockingStub(channel);
    }

    private PageServerGrpc.PageServerBlockingStub call() {
        ChannelReconnect.awaitIfFailing(channel, Duration.ofSeconds(15)); // a restarted parent is back within seconds
        return stub.withDeadlineAfter(READ_WAIT_MS + 30_000, TimeUnit.MILLISECONDS);
    }

    @Override
    public PageStore.StoredBlock read(RelTag rel, long block, long lsn) {
        GetPageAtLsnReply r;
        try {
            r = call().getPageAtLsn(GetPageAtLsnRequest.newBuilder()
                    .setPage(PageRef.newBuilder().setRel(RelTagMessages.toMessage(rel)).setBlockNum((int) block))
                    .setLsn(lsn).setPin(branch).setMaxWaitMs(READ_WAIT_MS).build());
        } catch (StatusRuntimeException e) {
            throw e.getStatus().withDescription("parent page server " + target + " (branch " + branch + ", block " + block
                    + " of " + rel + " as of " + Lsn.format(lsn) + "): " + e.getStatus().getDescription()).asRuntimeException();
        }
        return r.getAbsent() ? null : new PageStore.StoredBlock(r.getPageLsn(), r.getData().toByteArray());
    }

    /** The parent's registration of this branch. */
    BranchInfo registration() {
        return call().listBranches(ListBranchesRequest.getDefaultInstance()).getBranchesList().stream()
                .filter(b -> b.getName().equals(branch)).findFirst()
                .orElseThrow(() -> Status.NOT_FOUND.withDescription("parent page server " + target + " has no branch "
                        + branch + ": create it with dbfs branch create").asRuntimeException());
    }

    /** A data-directory snapshot of the parent's, whole. */
    byte[] snapshot(String name) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        long total;
        do {
            ReadSnapshotReply r = call().readSnapshot(ReadSnapshotRequest.newBuilder().setName(name).setOffset(out.size()).build());
            total = r.getTotalSize();
            if (r.getData().isEmpty() && out.size() < total) {
                throw Status.DATA_LOSS.withDescription("snapshot " + name + " ended at byte " + out.size() + " of " + total)
                        .asRuntimeException();
            }
            out.writeBytes(r.getData().toByteArray());
        } while (out.size() < total);
        return out.toByteArray();
    }

    String target() {
        return target;
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
