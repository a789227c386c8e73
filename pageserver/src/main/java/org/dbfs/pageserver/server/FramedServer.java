package org.dbfs.pageserver.server;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Empty;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.function.BiConsumer;
import org.dbfs.protocol.framed.Frames;
import org.dbfs.protocol.pageserver.v1.GetAttrRequest;
import org.dbfs.protocol.pageserver.ReadOnlyAccess;
import org.dbfs.protocol.pageserver.WriterAccess;
import org.dbfs.protocol.pageserver.v1.AcquireWriterRequest;
import org.dbfs.protocol.pageserver.v1.BranchRequest;
import org.dbfs.protocol.pageserver.v1.DeclareWriterRequest;
import org.dbfs.protocol.pageserver.v1.FenceRequest;
import org.dbfs.protocol.pageserver.v1.RenewWriterRequest;
import io.grpc.Context;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnRequest;
import org.dbfs.protocol.pageserver.v1.GetWalEndRequest;
import org.dbfs.protocol.pageserver.v1.HoldReaderRequest;
import org.dbfs.protocol.pageserver.v1.ListSnapshotsRequest;
import org.dbfs.protocol.pageserver.v1.ReadSnapshotRequest;
import org.dbfs.protocol.pageserver.v1.ResolvePointRequest;
import org.dbfs.protocol.pageserver.v1.CreateBranchRequest;
import org.dbfs.protocol.pageserver.v1.DeleteBranchRequest;
import org.dbfs.protocol.pageserver.v1.ListBranchesRequest;
import org.dbfs.protocol.pageserver.v1.GetPagesRequest;
import org.dbfs.protocol.pageserver.v1.LinkRequest;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.PutPagesRequest;
import org.dbfs.protocol.pageserver.v1.ReadDirRequest;
import org.dbfs.protocol.pageserver.v1.ReadFileRequest;
import org.dbfs.protocol.pageserver.v1.ReadLinkRequest;
import org.dbfs.protocol.pageserver.v1.RemoveRequest;
import org.dbfs.protocol.pageserver.v1.RenameRequest;
import org.dbfs.protocol.pageserver.v1.ServerInfoRequest;
import org.dbfs.protocol.pageserver.v1.SetAttrRequest;
import org.dbfs.protocol.pageserver.v1.StatFsRequest;
import org.dbfs.protocol.pageserver.v1.SyncRequest;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The page server's API for mounts, framed ({@link Frames}) over TCP or a Unix-domain socket: the
 * same calls, messages and status codes as gRPC, but each connection has its own thread that reads
 * a request, runs it and writes the reply itself.
 *
 * <p>Why: on these 2-vCPU VMs a thread hand-off costs tens of microseconds (an idle vCPU halts and
 * must be woken), and a gRPC round trip makes several (client event loop, server event loop, worker
 * pool, back). Here a call costs the socket wake-up each way, plus the journal's sync thread for a
 * durable write. The mount keeps one connection per FUSE thread, so calls never queue behind each
 * other on a connection.
 *
 * <p>On TCP the same port also serves gRPC, for tools and other languages: a connection that opens
 * with gRPC's preface instead of {@link Frames#PREFACE} is passed through, byte for byte, to the
 * page server's gRPC server on an internal loopback port ({@link GrpcPassthrough}).
 */
final class FramedServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FramedServer.class);

    private interface Handler {
        MessageLite call(byte[] request) throws Exception;
    }

    private final String where; // for messages: tcp HOST:PORT or the socket's path
    private final Path socketFile; // null on TCP
    private final InetSocketAddress grpc; // where gRPC connections are passed on to; null: none (the Unix socket)
    private final ServerSocketChannel listener;
    private final Map<String, Handler> handlers;
    private final ReadOnlyConnections readOnly;
    private final RequestBudget inFlight = RequestBudget.ofHeap();
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closing;

    private FramedServer(String where, Path socketFile, InetSocketAddress grpc, ServerSocketChannel listener,
                         Map<String, Handler> handlers, ReadOnlyConnections readOnly) {
        this.where = where;
        this.socketFile = socketFile;
        this.grpc = grpc;
        this.listener = listener;
        this.handlers = handlers;
        this.readOnly = readOnly;
        this.acceptor = Thread.ofPlatform().daemon().name("pageserver-socket-accept").unstarted(this::acceptLoop);
    }

    /**
     * Listens on {@code path} (a stale socket file left by a killed page server is replaced) and
     * serves {@code service}, whose handlers must run inline (a direct executor for blocking work).
     */
    static FramedServer onUnixSocket(Path path, PageServerService service, ReadOnlyConnections readOnly) throws IOException {
        removeStaleSocket(path);
        ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        listener.bind(UnixDomainSocketAddress.of(path));
        FramedServer server = new FramedServer("unix:" + path, path, null, listener, handlers(service), readOnly);
        server.acceptor.start();
        return server;
    }

    /**
     * Listens on {@code address} (port 0: any free one) and serves {@code service}, whose handlers
     * must run inline; gRPC connections go on to {@code grpc}.
     */
    static FramedServer onTcp(InetSocketAddress address, PageServerService service, ReadOnlyConnections readOnly,
                              InetSocketAddress grpc) throws IOException {
        ServerSocketChannel listener = ServerSocketChannel.open(); // IPv4 or IPv6, as the address is
        try {
            listener.bind(address);
        } catch (IOException e) {
            listener.close();
            throw e;
        }
        InetSocketAddress bound = (InetSocketAddress) listener.getLocalAddress();
        FramedServer server = new FramedServer("tcp " + bound.getHostString() + ":" + bound.getPort(), null, grpc, listener,
                handlers(service), readOnly);
        server.acceptor.start();
        return server;
    }

    /** The TCP port listened on. */
    int port() throws IOException {
        return ((InetSocketAddress) listener.getLocalAddress()).getPort();
    }

    /**
     * Removes the socket file a page server that was killed left behind; refuses to remove anything
     * else, or a socket that a running server still answers on.
     */
    private static void removeStaleSocket(Path path) throws IOException {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode = (Integer) Files.getAttribute(path, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        if ((mode & 0170000) != 0140000) { // S_IFMT, S_IFSOCK
            throw new IOException(path + " exists and is not a socket; not replacing it");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            throw new IOException(path + " is in use by another running page server");
        } catch (java.net.ConnectException e) {
            Files.delete(path); // nobody listens: left by a page server that was killed
        }
    }

    private static Map<String, Handler> handlers(PageServerService s) {
        return Map.ofEntries(
                unary("GetPages", GetPagesRequest.parser(), s::getPages),
                unary("GetPageAtLsn", GetPageAtLsnRequest.parser(), s::getPageAtLsn),
                unary("PutPages", PutPagesRequest.parser(), s::putPages),
                unary("GetAttr", GetAttrRequest.parser(), s::getAttr),
                unary("ReadDir", ReadDirRequest.parser(), s::readDir),
                unary("MakeNode", MakeNodeRequest.parser(), s::makeNode),
                unary("Remove", RemoveRequest.parser(), s::remove),
                unary("Rename", RenameRequest.parser(), s::rename),
                unary("Link", LinkRequest.parser(), s::link),
                unary("SetAttr", SetAttrRequest.parser(), s::setAttr),
                unary("ReadLink", ReadLinkRequest.parser(), s::readLink),
                unary("StatFs", StatFsRequest.parser(), s::statFs),
                unary("ReadFile", ReadFileRequest.parser(), s::readFile),
                unary("WriteFile", WriteFileRequest.parser(), s::writeFile),
                unary("Sync", SyncRequest.parser(), s::sync),
                unary("ServerInfo", ServerInfoRequest.parser(), s::serverInfo),
                unary("GetWalEnd", GetWalEndRequest.parser(), s::getWalEnd),
                unary("HoldReader", HoldReaderRequest.parser(), s::holdReader),
                unary("AcquireWriter", AcquireWriterRequest.parser(), s::acquireWriter),
                unary("RenewWriter", RenewWriterRequest.parser(), s::renewWriter),
                unary("Fence", FenceRequest.parser(), s::fence),
                unary("Branch", BranchRequest.parser(), s::branch),
                unary("ListSnapshots", ListSnapshotsRequest.parser(), s::listSnapshots),
                unary("ReadSnapshot", ReadSnapshotRequest.parser(), s::readSnapshot),
                unary("ResolvePoint", ResolvePointRequest.parser(), s::resolvePoint),
                unary("CreateBranch", CreateBranchRequest.parser(), s::createBranch),
                unary("ListBranches", ListBranchesRequest.parser(), s::listBranches),
                unary("DeleteBranch", DeleteBranchRequest.parser(), s::deleteBranch));
    }

    /** A handler that parses the request, runs the gRPC method and waits for its single reply. */
    private static <Q, R extends MessageLite> Map.Entry<String, Handler> unary(String method, Parser<Q> parser,
                                                                              BiConsumer<Q, StreamObserver<R>> impl) {
        return Map.entry(method, bytes -> {
            Q request = parser.parseFrom(bytes);
            CompletableFuture<R> reply = new CompletableFuture<>();
            impl.accept(request, new StreamObserver<>() {
                @Override
                public void onNext(R value) {
                    reply.complete(value);
                }

                @Override
                public void onError(Throwable t) {
                    reply.completeExceptionally(t);
                }

                @Override
                public void onCompleted() {
                    if (!reply.isDone()) { // the normal end follows onNext: no exception built for it
                        reply.completeExceptionally(Status.INTERNAL.withDescription(method + " completed without a reply").asRuntimeException());
                    }
                }
            });
            return reply.get();
        });
    }

    private void acceptLoop() {
        int n = 0;
        while (!closing) {
            try {
                SocketChannel c = listener.accept();
                if (socketFile == null) {
                    c.setOption(StandardSocketOptions.TCP_NODELAY, true); // a reply is one write, sent at once
                }
                connections.add(c);
                Thread.ofPlatform().daemon().name("pageserver-framed-" + n++).start(() -> serve(c));
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closing) {
                    log.error("{}: accept failed: {}", where, e.toString());
                }
                return;
            }
        }
    }

    /** A connection: the framed API, or gRPC passed on, by its first 4 bytes. */
    private void serve(SocketChannel c) {
        byte[] first = new byte[Frames.PREFACE.length];
        try {
            ByteBuffer b = ByteBuffer.wrap(first);
            while (b.hasRemaining()) {
                if (c.read(b) < 0) {
                    connections.remove(c);
                    c.close();
                    return;
                }
            }
        } catch (IOException e) {
            connections.remove(c);
            closeQuietly(c);
            return;
        }
        if (Arrays.equals(first, Frames.GRPC_PREFACE_START) && grpc != null) {
            connections.remove(c);
            GrpcPassthrough.start(c, first, grpc);
            return;
        }
        if (!Arrays.equals(first, Frames.PREFACE)) {
            log.warn("{}: a connection opened with neither this page server's framing nor gRPC ({}); closed", where,
                    HexFormat.of().formatHex(first));
            connections.remove(c);
            closeQuietly(c);
            return;
        }
        serveFrames(c);
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // nothing to tell the peer
        }
    }

    private void serveFrames(SocketChannel c) {
        try (c) {
            Frames frames = new Frames(c);
            boolean connectionReadOnly = false; // once declared, for the connection's whole life
            Context caller = Context.current(); // carries the writer epoch the connection declared
            while (true) {
                Frames.Request req = frames.readRequest();
                if (req == null) {
                    return; // the mount closed the connection
                }
                if (req.method().equals(ReadOnlyAccess.DECLARE_METHOD)) {
                    connectionReadOnly = true;
                    frames.writeReply(Empty.getDefaultInstance());
                    continue;
                }
                if (req.method().equals(WriterAccess.DECLARE_METHOD)) {
                    long epoch;
                    try {
                        epoch = DeclareWriterRequest.parseFrom(req.payload()).getEpoch();
                    } catch (InvalidProtocolBufferException e) {
                        frames.writeError(Status.INVALID_ARGUMENT.withDescription("malformed DeclareWriter request"));
                        continue;
                    }
                    caller = Context.current().withValue(WriterAccess.CALLER_EPOCH, epoch);
                    frames.writeReply(Empty.getDefaultInstance());
                    continue;
                }
                if (connectionReadOnly) {
                    Status refusal = readOnly.check(req.method());
                    if (refusal != null) {
                        frames.writeError(refusal);
                        continue;
                    }
                }
                Handler h = handlers.get(req.method());
                if (h == null) {
                    frames.writeError(Status.UNIMPLEMENTED.withDescription("no method " + req.method()));
                    continue;
                }
                int kib;
                try {
                    kib = inFlight.acquireFor(req.payload().length);
                } catch (InterruptedException e) {
                    return;
                }
                try {
                    byte[] payload = req.payload();
                    frames.writeReply(caller.call(() -> h.call(payload)));
                } catch (ExecutionException e) {
                    frames.writeError(statusOf(e.getCause()));
                } catch (InvalidProtocolBufferException e) {
                    frames.writeError(Status.INVALID_ARGUMENT.withDescription("malformed " + req.method() + " request: " + e.getMessage()));
                } catch (StatusRuntimeException e) {
                    frames.writeError(e.getStatus());
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    log.error("{}: {} failed", where, req.method(), e);
                    frames.writeError(Status.INTERNAL.withDescription(e.toString()));
                } finally {
                    inFlight.release(kib);
                }
            }
        } catch (IOException e) {
            if (!closing) {
                log.debug("{}: a connection ended: {}", where, e.toString());
            }
        } finally {
            connections.remove(c);
        }
    }

    private static Status statusOf(Throwable t) {
        return t instanceof StatusRuntimeException s ? s.getStatus() : Status.INTERNAL.withDescription(String.valueOf(t));
    }

    @Override
    public void close() throws IOException {
        closing = true;
        listener.close();
        for (SocketChannel c : connections) {
            c.close();
        }
        if (socketFile != null) {
            Files.deleteIfExists(socketFile);
        }
    }
}
