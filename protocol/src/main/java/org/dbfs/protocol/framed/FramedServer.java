package org.dbfs.protocol.framed;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A service's API framed ({@link Frames}) over TCP or a Unix-domain socket: the same calls, messages
 * and status codes as its gRPC service, but each connection has its own thread that reads a request,
 * runs it and writes the reply itself. The page server serves mounts this way, the WAL service page
 * servers.
 *
 * <p>Why: on the 2-vCPU VMs this runs on, a thread hand-off costs tens to hundreds of microseconds
 * (an idle vCPU halts and must be woken), and a gRPC round trip makes several (client event loop,
 * server event loop, worker pool, and back). Here a call costs the socket wake-up each way. Clients
 * keep one connection per calling thread ({@link FramedClient}), so calls never queue behind each
 * other on a connection.
 *
 * <p>On TCP the same port also serves gRPC, for tools and other languages: a connection that opens
 * with gRPC's preface instead of {@link Frames#PREFACE} is passed through, byte for byte, to the
 * service's gRPC server on an internal loopback port ({@link GrpcPassthrough}).
 */
public final class FramedServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FramedServer.class);

    /** One connection's calls, in order, on the connection's own thread. */
    public interface Session {
        /**
         * The reply to one call. Failures: a {@link StatusRuntimeException} (or an
         * {@link ExecutionException} around one) is the call's status; a malformed request
         * ({@link InvalidProtocolBufferException}) is INVALID_ARGUMENT; anything else is INTERNAL.
         */
        MessageLite call(String method, byte[] payload) throws Exception;
    }

    private final String service; // for messages and thread names: "pageserver", "walservice"
    private final String where; // for messages: tcp HOST:PORT or the socket's path
    private final Path socketFile; // null on TCP
    private final InetSocketAddress grpc; // where gRPC connections are passed on to; null: none (the Unix socket)
    private final ServerSocketChannel listener;
    private final Supplier<Session> sessions;
    private final RequestBudget inFlight = RequestBudget.ofHeap();
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closing;

    private FramedServer(String service, String where, Path socketFile, InetSocketAddress grpc, ServerSocketChannel listener,
                         Supplier<Session> sessions) {
        this.service = service;
        this.where = where;
        this.socketFile = socketFile;
        this.grpc = grpc;
        this.listener = listener;
        this.sessions = sessions;
        this.acceptor = Thread.ofPlatform().daemon().name(service + "-accept").unstarted(this::acceptLoop);
    }

    /**
     * Listens on {@code path} (a stale socket file left by a killed server is replaced) and gives
     * each connection a session of its own.
     */
    public static FramedServer onUnixSocket(String service, Path path, Supplier<Session> sessions) throws IOException {
        removeStaleSocket(service, path);
        ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        listener.bind(UnixDomainSocketAddress.of(path));
        FramedServer server = new FramedServer(service, "unix:" + path, path, null, listener, sessions);
        server.acceptor.start();
        return server;
    }

    /**
     * Listens on {@code address} (port 0: any free one) and gives each connection a session of its
     * own; gRPC connections go on to {@code grpc}.
     */
    public static FramedServer onTcp(String service, InetSocketAddress address, Supplier<Session> sessions,
                                     InetSocketAddress grpc) throws IOException {
        ServerSocketChannel listener = ServerSocketChannel.open(); // IPv4 or IPv6, as the address is
        try {
            listener.bind(address);
        } catch (IOException e) {
            listener.close();
            throw e;
        }
        InetSocketAddress bound = (InetSocketAddress) listener.getLocalAddress();
        FramedServer server = new FramedServer(service, "tcp " + bound.getHostString() + ":" + bound.getPort(), null, grpc,
                listener, sessions);
        server.acceptor.start();
        return server;
    }

    /** The TCP port listened on. */
    public int port() throws IOException {
        return ((InetSocketAddress) listener.getLocalAddress()).getPort();
    }

    /**
     * Removes the socket file a server that was killed left behind; refuses to remove anything
     * else, or a socket that a running server still answers on.
     */
    private static void removeStaleSocket(String service, Path path) throws IOException {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode = (Integer) Files.getAttribute(path, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        if ((mode & 0170000) != 0140000) { // S_IFMT, S_IFSOCK
            throw new IOException(path + " exists and is not a socket; not replacing it");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            throw new IOException(path + " is in use by another running " + service);
        } catch (java.net.ConnectException e) {
            Files.delete(path); // nobody listens: left by a server that was killed
        }
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
                Thread.ofPlatform().daemon().name(service + "-framed-" + n++).start(() -> serve(c));
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
            log.warn("{}: a connection opened with neither this {}'s framing nor gRPC ({}); closed", where, service,
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
            Session session = sessions.get();
            while (true) {
                Frames.Request req = frames.readRequest();
                if (req == null) {
                    return; // the client closed the connection
                }
                int kib;
                try {
                    kib = inFlight.acquireFor(req.payload().length);
                } catch (InterruptedException e) {
                    return;
                }
                try {
                    frames.writeReply(session.call(req.method(), req.payload()));
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
