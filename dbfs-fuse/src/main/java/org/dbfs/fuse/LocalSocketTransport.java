package org.dbfs.fuse;

import com.google.protobuf.Empty;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.grpc.Status;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.function.LongSupplier;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import org.dbfs.protocol.local.LocalSocketFrames;
import org.dbfs.protocol.pageserver.ReadOnlyAccess;
import org.dbfs.protocol.pageserver.WriterAccess;
import org.dbfs.protocol.pageserver.v1.DeclareWriterRequest;

/**
 * Page server calls over its Unix-domain socket ({@code pageserver --listen-socket}): the calling
 * FUSE thread writes the request and reads the reply itself, on a connection no other call uses
 * meanwhile. Connections are pooled, so there are as many as calls ever ran at once. Failures
 * surface as the StatusRuntimeException gRPC would raise: the page server's own status, or
 * UNAVAILABLE when the socket cannot be reached or breaks (the connection is then dropped, and the
 * next call connects again, e.g. to a restarted page server).
 */
final class LocalSocketTransport implements AutoCloseable {
    private record Connection(SocketChannel channel, LocalSocketFrames frames) {}

    private final Path path;
    private final boolean readOnly;
    private final LongSupplier epoch;
    private final ConcurrentLinkedDeque<Connection> idle = new ConcurrentLinkedDeque<>();
    private final Set<Connection> all = ConcurrentHashMap.newKeySet();

    /**
     * @param readOnly declare each new connection read-only before its first call
     * @param epoch    the writer epoch each new connection declares first, once it is not 0
     */
    LocalSocketTransport(Path path, boolean readOnly, LongSupplier epoch) {
        this.path = path;
        this.readOnly = readOnly;
        this.epoch = epoch;
    }

    <R> R call(String method, MessageLite request, Parser<R> replyParser) {
        Connection c = null;
        try {
            c = pooledOrNew();
            c.frames().writeRequest(method, request);
            LocalSocketFrames.Reply reply = c.frames().readReply();
            idle.addFirst(c); // the most recently used first: its thread is the likeliest to be warm
            if (!reply.ok()) {
                throw reply.status().asRuntimeException();
            }
            return replyParser.parseFrom(reply.payload());
        } catch (InvalidProtocolBufferException e) {
            throw Status.INTERNAL.withDescription("malformed " + method + " reply from " + path + ": " + e.getMessage())
                    .asRuntimeException();
        } catch (IOException e) {
            if (c != null) {
                drop(c);
            }
            throw Status.UNAVAILABLE.withDescription("page server socket " + path + ": " + e.getMessage()).withCause(e)
                    .asRuntimeException();
        }
    }

    /**
     * An idle connection whose page server is still there, else a new one: a connection to a page
     * server that exited has EOF waiting, and a request must not be lost on it (as gRPC, which
     * reconnects before the next call, would not lose it).
     */
    private Connection pooledOrNew() throws IOException {
        for (Connection c = idle.pollFirst(); c != null; c = idle.pollFirst()) {
            if (stillOpen(c.channel())) {
                return c;
            }
            drop(c);
        }
        return connect();
    }

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
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(path));
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        Connection c = new Connection(ch, new LocalSocketFrames(ch));
        try {
            if (readOnly) {
                declare(c, ReadOnlyAccess.DECLARE_METHOD, Empty.getDefaultInstance(), "a read-only connection");
            }
            long e = epoch.getAsLong();
            if (e != 0) {
                declare(c, WriterAccess.DECLARE_METHOD, DeclareWriterRequest.newBuilder().setEpoch(e).build(),
                        "writer epoch " + e);
            }
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        all.add(c);
        return c;
    }

    private static void declare(Connection c, String method, MessageLite request, String what) throws IOException {
        c.frames().writeRequest(method, request);
        LocalSocketFrames.Reply reply = c.frames().readReply();
        if (!reply.ok()) {
            throw new IOException("the page server did not accept " + what + ": " + reply.status());
        }
    }

    /** Closes the idle connections, so that every later call runs on one that declared what is declared now. */
    void redeclare() {
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
        for (Connection c : all) {
            drop(c);
        }
        idle.clear();
    }
}
