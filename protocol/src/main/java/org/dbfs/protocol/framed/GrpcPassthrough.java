package org.dbfs.protocol.framed;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A gRPC connection that arrived on a framed server's public port (the page server's, the WAL
 * service's), passed on byte for byte to the service's gRPC server on an internal loopback port: one
 * thread per direction, each closing its side of the other connection when its source ends, so that
 * both peers see each other's shutdowns as they would directly. gRPC serves tools (fencectl, dbfs
 * branch, getpage) and other languages, so the extra hop is not on any mount's path, nor on a page
 * server's way to its WAL service (except ReadWal, which streams).
 */
final class GrpcPassthrough {
    private static final Logger log = LoggerFactory.getLogger(GrpcPassthrough.class);
    private static final int BUFFER = 64 << 10;

    private GrpcPassthrough() {}

    /** Connects to {@code grpc}, sends {@code alreadyRead} on, then copies both ways until both sides end. */
    static void start(SocketChannel client, byte[] alreadyRead, InetSocketAddress grpc) {
        SocketChannel server;
        try {
            server = SocketChannel.open(grpc);
            server.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ByteBuffer first = ByteBuffer.wrap(alreadyRead);
            while (first.hasRemaining()) {
                server.write(first);
            }
        } catch (IOException e) {
            log.error("cannot pass a gRPC connection on to the server's own gRPC server at {}: {}", grpc, e.toString());
            close(client);
            return;
        }
        AtomicInteger open = new AtomicInteger(2);
        Thread.ofVirtual().name("grpc-passthrough-in").start(() -> copy(client, server, open));
        Thread.ofVirtual().name("grpc-passthrough-out").start(() -> copy(server, client, open));
    }

    private static void copy(SocketChannel from, SocketChannel to, AtomicInteger open) {
        ByteBuffer b = ByteBuffer.allocate(BUFFER);
        try {
            while (from.read(b) >= 0) {
                b.flip();
                while (b.hasRemaining()) {
                    to.write(b);
                }
                b.clear();
            }
            to.shutdownOutput();
        } catch (IOException e) {
            // One side broke: end both, as a broken direct connection would.
            close(from);
            close(to);
        }
        if (open.decrementAndGet() == 0) {
            close(from);
            close(to);
        }
    }

    private static void close(SocketChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // already closed
        }
    }
}
