package org.dbfs.fuse;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.dbfs.protocol.pageserver.v1.GetAttrRequest;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.MutationReply;
import org.dbfs.protocol.pageserver.v1.NodeReply;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;
import org.dbfs.protocol.pageserver.v1.ReadDirReply;
import org.dbfs.protocol.pageserver.v1.ReadDirRequest;
import org.dbfs.protocol.pageserver.v1.ReadFileReply;
import org.dbfs.protocol.pageserver.v1.ReadFileRequest;
import org.dbfs.protocol.pageserver.v1.ReadLinkReply;
import org.dbfs.protocol.pageserver.v1.ReadLinkRequest;
import org.dbfs.protocol.pageserver.v1.RemoveRequest;
import org.dbfs.protocol.pageserver.v1.RenameRequest;
import org.dbfs.protocol.pageserver.v1.ServerInfoReply;
import org.dbfs.protocol.pageserver.v1.ServerInfoRequest;
import org.dbfs.protocol.pageserver.v1.SetAttrRequest;
import org.dbfs.protocol.pageserver.v1.StatFsReply;
import org.dbfs.protocol.pageserver.v1.StatFsRequest;
import org.dbfs.protocol.pageserver.v1.SyncReply;
import org.dbfs.protocol.pageserver.v1.SyncRequest;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;

import java.util.concurrent.TimeUnit;

/**
 * The mount's connection to one page server: blocking calls with a deadline, and every successful
 * mutation's acknowledgement fed to the {@link DurabilityTracker}. gRPC failures surface as
 * StatusRuntimeException for the caller to turn into an errno.
 */
final class PageServerClient implements AutoCloseable {

    /** Generous: a page server waiting on its object store should slow the mount down, not fail it. */
    private static final long DEADLINE_SECONDS = 120;
    private static final int MAX_MESSAGE_BYTES = 64 << 20;

    private final String target;
    private final ManagedChannel channel;
    private final PageServerGrpc.PageServerBlockingStub stub;
    private final DurabilityTracker durability = new DurabilityTracker();

    PageServerClient(String hostAndPort) {
        this.target = hostAndPort;
        this.channel = NettyChannelBuilder.forTarget(hostAndPort)
                .usePlaintext()
                .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .build();
        this.stub = PageServerGrpc.newBlockingStub(channel);
    }

    String target() {
        return target;
    }

    DurabilityTracker durability() {
        return durability;
    }

    private PageServerGrpc.PageServerBlockingStub call() {
        return stub.withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
    }

    private MutationReply track(MutationReply r) {
        if (r.getErrno() == 0) {
            durability.acknowledged(r.getIncarnation(), r.getDurable());
        }
        return r;
    }

    private NodeReply track(NodeReply r) {
        if (r.getErrno() == 0) {
            durability.acknowledged(r.getIncarnation(), r.getDurable());
        }
        return r;
    }

    ServerInfoReply serverInfo() {
        return call().serverInfo(ServerInfoRequest.getDefaultInstance());
    }

    NodeReply getAttr(String path) {
        return call().getAttr(GetAttrRequest.newBuilder().setPath(path).build());
    }

    NodeReply getAttr(long ino) {
        return call().getAttr(GetAttrRequest.newBuilder().setIno(ino).build());
    }

    ReadDirReply readDir(String path) {
        return call().readDir(ReadDirRequest.newBuilder().setPath(path).build());
    }

    ReadLinkReply readLink(String path) {
        return call().readLink(ReadLinkRequest.newBuilder().setPath(path).build());
    }

    StatFsReply statFs() {
        return call().statFs(StatFsRequest.getDefaultInstance());
    }

    ReadFileReply readFile(long ino, long offset, int length) {
        return call().readFile(ReadFileRequest.newBuilder().setIno(ino).setOffset(offset).setLength(length).build());
    }

    NodeReply makeNode(MakeNodeRequest request) {
        return track(call().makeNode(request));
    }

    MutationReply remove(RemoveRequest request) {
        return track(call().remove(request));
    }

    MutationReply rename(RenameRequest request) {
        return track(call().rename(request));
    }

    NodeReply setAttr(SetAttrRequest request) {
        return track(call().setAttr(request));
    }

    MutationReply writeFile(WriteFileRequest request) {
        return track(call().writeFile(request));
    }

    SyncReply sync(long incarnation) {
        return call().sync(SyncRequest.newBuilder().setIncarnation(incarnation).build());
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdown();
        if (!channel.awaitTermination(10, TimeUnit.SECONDS)) {
            channel.shutdownNow();
        }
    }
}
