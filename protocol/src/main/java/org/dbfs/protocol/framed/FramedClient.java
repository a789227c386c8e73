package org.dbfs.protocol.framed;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.grpc.Status;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Calls to a {@link FramedServer} (the page server's, the WAL service's), over TCP or a Unix-domain
 * socket: the calling thread writes the request and reads the reply itself, on a connection no
 * other call uses meanwhile. Connections are pooled, so there are as many as calls ever ran at once.
 * Failures surface as the StatusRuntimeException gRPC would raise: the server's own status, or
 * UNAVAILABLE when it cannot be reached or the connection breaks (the connection is then dropped,
 * and the next call connects again, e.g. to a restarted server). A server that refuses connections
 * is retried for {@link #RECONNECT} (unless told otherwise) before a call fails, as the gRPC client
 * waits out a restart.
 */
public final class FramedClient implements AutoCloseable {
    /** A call each new connection makes before any other, e.g. the page server's read-only declaration. */
    public record Declaration(String method, MessageLite request, String what) {}

    private static final class Connection {
        final SocketChannel channel;
        final Frames frames;
        /** System.nanoTime() when its call was sent; 0 while idle. */
        volatile long callStarted;
        /** System.nanoTime() when its last reply arrived. */
        long lastReply;

        Connection(SocketChannel channel, Frames frames) {
            this.channel = channel;
            this.frames = frames;
        }

        SocketChannel channel() {
            return channel;
        }

        Frames frames() {
            return frames;
        }
    }

    private static final Duration RECONNECT = Duration.ofSeconds(15);
    private static final long RECONNECT_POLL_MILLIS = 200;
    /** As the gRPC client's deadline: a page server waiting on its object store slows a call down, a dead link fails it. */
    private static final Duration DEADLINE = Duration.ofSeconds(120);

    private final SocketAddress address;
    private final Duration reconnect;
    private final String peer; // for messages: "page server HOST:PORT"
    private final Supplier<List<Declaration>> declarations;
    private final ConcurrentLinkedDeque<Connection> idle = new ConcurrentLinkedDeque<>();
    private final Set<Connection> all = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService deadlines = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("framed-deadlines").factory());

    /**
     * @param peer         the server, for messages ("page server 10.0.0.5:6400")
     * @param declarations what each new connection declares before its first call, asked at each connect
     */
    public FramedClient(SocketAddress address, String peer, Supplier<List<Declaration>> declarations) {
        this(address, peer, declarations, RECONNECT);
    }

    /** @param reconnect how long a call keeps connecting to a server that refuses connections */
    public FramedClient(SocketAddress address, String peer, Supplier<List<Declaration>> declarations, Duration reconnect) {
        this.address = address;
        this.reconnect = reconnect;
        this.peer = peer;
        this.declarations = declarations;
        deadlines.scheduleWithFixedDelay(this::closeOverdue, 1, 1, TimeUnit.SECONDS);
    }

    /**
     * Closes each connection whose call has waited past {@link #DEADLINE}: a blocking read has no
     * timeout of its own, and a link that stalls without a reset (no RST, no FIN) would otherwise
     * hold the calling thread for ever. The closed channel fails the read, and the call with it.
     */
    private void closeOverdue() {
        long now = System.nanoTime();
        for (Connection c : all) {
            long started = c.callStarted;
            if (started != 0 && now - started > DEADLINE.toNanos()) {
                drop(c);
            }
        }
    }

    public <R> R call(String method, MessageLite request, Parser<R> replyParser) {
        Connection c = null;
        try {
            c = pooledOrNew();
            c.callStarted = System.nanoTime();
            c.frames().writeRequest(method, request);
            Frames.Reply reply = c.frames().readReply();
            c.callStarted = 0;
            c.lastReply = System.nanoTime();
            idle.addFirst(c); // the most recently used first: its thread is the likeliest to be warm
            if (!reply.ok()) {
                throw reply.status().asRuntimeException();
            }
            return replyParser.parseFrom(reply.payload());
        } catch (InvalidProtocolBufferException e) {
            throw Status.INTERNAL.withDescription("malformed " + method + " reply from " + peer + ": " + e.getMessage())
                    .asRuntimeException();
        } catch (IOException e) {
            if (c != null) {
                drop(c);
            }
            throw Status.UNAVAILABLE.withDescription(peer + ": " + e).withCause(e)
                    .asRuntimeException();
        }
    }

    /**
     * An idle connection whose server is still there, else a new one: a connection to a server
     * that exited has EOF waiting, and a request must not be lost on it (as gRPC, which
     * reconnects before the next call, would not lose it).
     */
    private Connection pooledOrNew() throws IOException {
        for (Connection c = idle.pollFirst(); c != null; c = idle.pollFirst()) {
            if (System.nanoTime() - c.lastReply < TRUSTED_IDLE_NANOS || stillOpen(c.channel())) {
                return c;
            }
            drop(c);
        }
        return connect();
    }

    /**
     * A connection that answered this recently is not checked (the check costs five system calls, a
     * call's own cost is two): a server that died since then leaves calls failing, as those in
     * flight when it died do, while one restarted (seconds) finds every connection checked.
     */
    private static final long TRUSTED_IDLE_NANOS = 50_000_000L;

    private static boolean stillOpen(SocketChannel ch) {
        try {
            ch.configureBlocking(false);
            int n = ch.read(ByteBuffer.allocate(1));
            ch.configureBlocking(true);
            return n == 0; // a byte between calls would be a protocol error: drop that connection too
        } catch (IOException e) {
            return false;
        }
    }

    private Connection connect() throws IOException {
        SocketChannel ch = openWithRetries();
        Frames frames = new Frames(ch);
        try {
            if (address instanceof InetSocketAddress) {
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true); // a request is one write, sent at once
            }
            frames.writePreface();
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        Connection c = new Connection(ch, frames);
        try {
            for (Declaration d : declarations.get()) {
                declare(c, d);
            }
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        all.add(c);
        return c;
    }

    /** A new connection; a refused one is tried again until the reconnect time has passed. */
    private SocketChannel openWithRetries() throws IOException {
        long deadline = System.nanoTime() + reconnect.toNanos();
        while (true) {
            SocketChannel ch = address instanceof UnixDomainSocketAddress
                    ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open(); // IPv4 or IPv6
            try {
                ch.connect(resolved());
                return ch;
            } catch (ConnectException | NoSuchFileException e) {
                ch.close();
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            } catch (IOException e) {
                ch.close();
                throw e;
            }
            try {
                Thread.sleep(RECONNECT_POLL_MILLIS); // refused: not listening (yet, or again)
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while connecting to " + peer);
            }
        }
    }

    /** The address, its host looked up again at each connect (a server that moved is found). */
    private SocketAddress resolved() throws java.net.UnknownHostException {
        if (address instanceof InetSocketAddress inet && inet.isUnresolved()) {
            InetSocketAddress now = new InetSocketAddress(inet.getHostString(), inet.getPort());
            if (now.isUnresolved()) {
                throw new java.net.UnknownHostException(peer + ": host " + inet.getHostString() + " does not resolve");
            }
            return now;
        }
        return address;
    }

    private void declare(Connection c, Declaration d) throws IOException {
        c.frames().writeRequest(d.method(), d.request());
        Frames.Reply reply = c.frames().readReply();
        if (!reply.ok()) {
            throw new IOException(peer + " did not accept " + d.what() + ": " + reply.status());
        }
    }

    /** Closes the idle connections, so that every later call runs on one that declared what is declared now. */
    public void redeclare() {
        for (Connection c = idle.pollFirst(); c != null; c = idle.pollFirst()) {
            drop(c);
        }
    }

    private void drop(Connection c) {
        all.remove(c);
        try {
            c.channel().close();
        } catch (IOException ignored) {
            // already broken
        }
    }

    @Override
    public void close() {
        deadlines.shutdownNow();
        for (Connection c : all) {
            drop(c);
        }
        idle.clear();
    }
}
