package org.dbfs.fuse;

import com.google.protobuf.MessageLite;
import com.google.protobuf.Empty;
import java.util.ArrayList;
import java.util.List;
import org.dbfs.protocol.framed.FramedClient;
import org.dbfs.protocol.pageserver.v1.DeclareWriterRequest;
import com.google.protobuf.Parser;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import org.dbfs.protocol.pageserver.ReadOnlyAccess;
import org.dbfs.protocol.pageserver.v1.GetAttrRequest;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnReply;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnRequest;
import org.dbfs.protocol.pageserver.v1.GetWalEndReply;
import org.dbfs.protocol.pageserver.v1.GetWalEndRequest;
import org.dbfs.protocol.pageserver.v1.HoldReaderReply;
import org.dbfs.protocol.pageserver.v1.CreateBranchReply;
import org.dbfs.protocol.pageserver.v1.CreateBranchRequest;
import org.dbfs.protocol.pageserver.v1.ClusterStatus;
import org.dbfs.protocol.pageserver.v1.ClusterStatusRequest;
import org.dbfs.protocol.pageserver.v1.DeleteBranchReply;
import org.dbfs.protocol.pageserver.v1.DeleteBranchRequest;
import org.dbfs.protocol.pageserver.v1.HoldReaderRequest;
import org.dbfs.protocol.pageserver.v1.ListBranchesReply;
import org.dbfs.protocol.pageserver.v1.ListBranchesRequest;
import org.dbfs.protocol.pageserver.v1.ListSnapshotsReply;
import org.dbfs.protocol.pageserver.v1.ListSnapshotsRequest;
import org.dbfs.protocol.pageserver.v1.ReadSnapshotReply;
import org.dbfs.protocol.pageserver.v1.ReadSnapshotRequest;
import org.dbfs.protocol.pageserver.v1.ResolvePointReply;
import org.dbfs.protocol.pageserver.v1.ResolvePointRequest;
import org.dbfs.protocol.pageserver.v1.LinkRequest;
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

import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.dbfs.protocol.grpc.ChannelReconnect;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.MethodDescriptor;
import org.dbfs.protocol.pageserver.WriterAccess;
import org.dbfs.protocol.pageserver.v1.AcquireWriterRequest;
import org.dbfs.protocol.pageserver.v1.BranchReply;
import org.dbfs.protocol.pageserver.v1.BranchRequest;
import org.dbfs.protocol.pageserver.v1.RenewWriterRequest;
import org.dbfs.protocol.pageserver.v1.WriterLeaseReply;

/**
 * The mount's connection to one page server: blocking calls with a deadline, and every successful
 * mutation's acknowledgement fed to the {@link DurabilityTracker}. gRPC failures surface as
 * StatusRuntimeException for the caller to turn into an errno. The target {@code HOST:PORT} (the
 * page server's --listen) and {@code unix:PATH} (its --listen-socket) use its own framing
 * ({@link FramedClient}); {@code grpc:HOST:PORT} uses gRPC on the same port: same calls, same
 * failures, but several thread hand-offs more per call.
 */
final class PageServerClient implements AutoCloseable {

    /** Generous: a page server waiting on its object store should slow the mount down, not fail it. */
    /**
     * What each new framed connection declares first: read-only (a replica's mount), and the writer
     * epoch once this client holds one (gRPC sends both as headers).
     */
    private List<FramedClient.Declaration> declarations(boolean readOnly) {
        List<FramedClient.Declaration> out = new ArrayList<>(2);
        if (readOnly) {
            out.add(new FramedClient.Declaration(ReadOnlyAccess.DECLARE_METHOD, Empty.getDefaultInstance(), "a read-only connection"));
        }
        long e = epoch.get();
        if (e != 0) {
            out.add(new FramedClient.Declaration(WriterAccess.DECLARE_METHOD, DeclareWriterRequest.newBuilder().setEpoch(e).build(),
                    "writer epoch " + e));
        }
        return out;
    }

    private static final long DEADLINE_SECONDS = 120;
    private static final int MAX_MESSAGE_BYTES = 64 << 20;
    private static final Duration RECONNECT = Duration.ofSeconds(15);

    private static final String UNIX = "unix:";
    private static final String GRPC = "grpc:";

    private final String target;
    private final ManagedChannel channel;
    private final PageServerGrpc.PageServerBlockingStub stub;
    private final FramedClient local;
    private final DurabilityTracker durability = new DurabilityTracker();
    private final AtomicLong epoch = new AtomicLong(); // the writer epoch every connection declares, once acquired

    /** @param target HOST:PORT (framed over TCP), unix:PATH (framed, the page server's --listen-socket) or grpc:HOST:PORT */
    PageServerClient(String target) {
        this(target, false);
    }

    /**
     * @param readOnly declare every connection read-only, so that the page server refuses any write
     *                 from this client (pageserver.proto, "Read-only connections")
     */
    PageServerClient(String target, boolean readOnly) {
        this.target = target;
        if (target.startsWith(UNIX)) {
            this.local = new FramedClient(UnixDomainSocketAddress.of(target.substring(UNIX.length())), "page server " + target,
                    () -> declarations(readOnly));
            this.channel = null;
            this.stub = null;
        } else if (!target.startsWith(GRPC)) {
            this.local = new FramedClient(tcpAddress(target), "page server " + target, () -> declarations(readOnly));
            this.channel = null;
            this.stub = null;
        } else {
            this.local = null;
            NettyChannelBuilder builder = NettyChannelBuilder.forTarget(target.substring(GRPC.length()))
                    .usePlaintext()
                    .maxInboundMessageSize(MAX_MESSAGE_BYTES);
            if (readOnly) {
                Metadata headers = new Metadata();
                headers.put(ReadOnlyAccess.HEADER, ReadOnlyAccess.READ_ONLY);
                builder.intercept(MetadataUtils.newAttachHeadersInterceptor(headers));
            } else {
                builder.intercept(new ClientInterceptor() {
                    @Override
                    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
                        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                            @Override
                            public void start(Listener<R> listener, Metadata headers) {
                                long e = epoch.get();
                                if (e != 0) {
                                    headers.put(WriterAccess.EPOCH_HEADER, Long.toUnsignedString(e));
                                }
                                super.start(listener, headers);
                            }
                        };
                    }
                });
            }
            this.channel = builder.build();
            this.stub = PageServerGrpc.newBlockingStub(channel);
        }
    }

    /** HOST:PORT; the last colon splits, so an IPv6 host keeps its colons. Resolved at each connect. */
    private static InetSocketAddress tcpAddress(String target) {
        int colon = target.lastIndexOf(':');
        try {
            if (colon > 0) {
                return InetSocketAddress.createUnresolved(target.substring(0, colon), Integer.parseInt(target.substring(colon + 1)));
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--pageserver wants HOST:PORT, grpc:HOST:PORT or unix:PATH, got " + target);
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

    /** One call, on whichever transport this client has. */
    private <Q extends MessageLite, R> R unary(String method, Q request, Parser<R> replyParser,
                                               Function<PageServerGrpc.PageServerBlockingStub, Function<Q, R>> grpc) {
        if (local != null) {
            return local.call(method, request, replyParser);
        }
        ChannelReconnect.awaitIfFailing(channel, RECONNECT); // a restarted page server is back within seconds
        return grpc.apply(call()).apply(request);
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
        return unary("ServerInfo", ServerInfoRequest.getDefaultInstance(), ServerInfoReply.parser(), s -> s::serverInfo);
    }

    NodeReply getAttr(String path) {
        return unary("GetAttr", GetAttrRequest.newBuilder().setPath(path).build(), NodeReply.parser(), s -> s::getAttr);
    }

    NodeReply getAttr(long ino) {
        return unary("GetAttr", GetAttrRequest.newBuilder().setIno(ino).build(), NodeReply.parser(), s -> s::getAttr);
    }

    ReadDirReply readDir(String path) {
        return unary("ReadDir", ReadDirRequest.newBuilder().setPath(path).build(), ReadDirReply.parser(), s -> s::readDir);
    }

    ReadLinkReply readLink(String path) {
        return unary("ReadLink", ReadLinkRequest.newBuilder().setPath(path).build(), ReadLinkReply.parser(), s -> s::readLink);
    }

    StatFsReply statFs() {
        return unary("StatFs", StatFsRequest.getDefaultInstance(), StatFsReply.parser(), s -> s::statFs);
    }

    ReadFileReply readFile(long ino, long offset, int length) {
        return unary("ReadFile", ReadFileRequest.newBuilder().setIno(ino).setOffset(offset).setLength(length).build(),
                ReadFileReply.parser(), s -> s::readFile);
    }

    NodeReply makeNode(MakeNodeRequest request) {
        return track(unary("MakeNode", request, NodeReply.parser(), s -> s::makeNode));
    }

    NodeReply link(LinkRequest request) {
        return track(unary("Link", request, NodeReply.parser(), s -> s::link));
    }

    MutationReply remove(RemoveRequest request) {
        return track(unary("Remove", request, MutationReply.parser(), s -> s::remove));
    }

    MutationReply rename(RenameRequest request) {
        return track(unary("Rename", request, MutationReply.parser(), s -> s::rename));
    }

    NodeReply setAttr(SetAttrRequest request) {
        return track(unary("SetAttr", request, NodeReply.parser(), s -> s::setAttr));
    }

    MutationReply writeFile(WriteFileRequest request) {
        return track(unary("WriteFile", request, MutationReply.parser(), s -> s::writeFile));
    }

    GetPageAtLsnReply getPageAtLsn(GetPageAtLsnRequest request) {
        return unary("GetPageAtLsn", request, GetPageAtLsnReply.parser(), s -> s::getPageAtLsn);
    }

    GetWalEndReply getWalEnd() {
        return unary("GetWalEnd", GetWalEndRequest.getDefaultInstance(), GetWalEndReply.parser(), s -> s::getWalEnd);
    }

    ListSnapshotsReply listSnapshots() {
        return unary("ListSnapshots", ListSnapshotsRequest.getDefaultInstance(), ListSnapshotsReply.parser(),
                s -> s::listSnapshots);
    }

    ReadSnapshotReply readSnapshot(String name, long offset) {
        return unary("ReadSnapshot", ReadSnapshotRequest.newBuilder().setName(name).setOffset(offset).build(),
                ReadSnapshotReply.parser(), s -> s::readSnapshot);
    }

    ResolvePointReply resolvePoint(ResolvePointRequest request) {
        return unary("ResolvePoint", request, ResolvePointReply.parser(), s -> s::resolvePoint);
    }

    CreateBranchReply createBranch(CreateBranchRequest request) {
        return unary("CreateBranch", request, CreateBranchReply.parser(), s -> s::createBranch);
    }

    ListBranchesReply listBranches(ListBranchesRequest request) {
        return unary("ListBranches", request, ListBranchesReply.parser(), s -> s::listBranches);
    }

    DeleteBranchReply deleteBranch(DeleteBranchRequest request) {
        return unary("DeleteBranch", request, DeleteBranchReply.parser(), s -> s::deleteBranch);
    }

    ClusterStatus clusterStatus() {
        return unary("GetClusterStatus", ClusterStatusRequest.getDefaultInstance(), ClusterStatus.parser(),
                s -> s::getClusterStatus);
    }

    void holdReader(HoldReaderRequest request) {
        unary("HoldReader", request, HoldReaderReply.parser(), s -> s::holdReader);
    }

    /**
     * Takes the cluster's writer lease for {@code holder}; from then on every call declares the
     * epoch it got, and the page server refuses them all once a newer epoch fences it.
     */
    WriterLeaseReply acquireWriter(String holder) {
        WriterLeaseReply r = unary("AcquireWriter", AcquireWriterRequest.newBuilder().setHolder(holder).build(),
                WriterLeaseReply.parser(), s -> s::acquireWriter);
        epoch.set(r.getEpoch());
        if (local != null) {
            local.redeclare();
        }
        return r;
    }

    long epoch() {
        return epoch.get();
    }

    /** Writes as the holder of {@code e}, which a promotion was given rather than acquired here. */
    void useEpoch(long e) {
        epoch.set(e);
        if (local != null) {
            local.redeclare();
        }
    }

    BranchReply branch(BranchRequest request) {
        return unary("Branch", request, BranchReply.parser(), s -> s::branch);
    }

    WriterLeaseReply renewWriter(boolean release) {
        return unary("RenewWriter", RenewWriterRequest.newBuilder().setEpoch(epoch.get()).setRelease(release).build(),
                WriterLeaseReply.parser(), s -> s::renewWriter);
    }

    SyncReply sync(long incarnation) {
        return unary("Sync", SyncRequest.newBuilder().setIncarnation(incarnation).build(), SyncReply.parser(), s -> s::sync);
    }

    @Override
    public void close() throws InterruptedException {
        if (local != null) {
            local.close();
            return;
        }
        channel.shutdown();
        if (!channel.awaitTermination(10, TimeUnit.SECONDS)) {
            channel.shutdownNow();
        }
    }
}
