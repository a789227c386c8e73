package org.dbfs.pageserver.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.dbfs.protocol.framed.Frames;
import org.dbfs.protocol.pageserver.v1.GetAttrRequest;
import org.dbfs.protocol.pageserver.v1.NodeReply;
import org.dbfs.protocol.pageserver.v1.ServerInfoReply;
import org.dbfs.protocol.pageserver.v1.ServerInfoRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page server's framed API, on its public TCP port and its Unix-domain socket: calls and
 * failures as over gRPC, gRPC itself on the same TCP port, and what it does with the socket file.
 */
class FramedServerTest {
    private static final char[] PASSPHRASE = "local socket test passphrase".toCharArray();

    @TempDir
    Path dir;

    private PageServer start(Path socket) throws IOException {
        return PageServer.start(PageServerConfig.of(dir.resolve("bucket").toUri().toString(), dir.resolve("cache"), PASSPHRASE.clone())
                .withLocalSocket(socket));
    }

    @Test
    void callsAnswerAsOverGrpcAndFailuresKeepTheirStatusCodes() throws Exception {
        Path socket = dir.resolve("ps.sock");
        try (PageServer server = start(socket);
             SocketChannel unix = SocketChannel.open(StandardProtocolFamily.UNIX);
             SocketChannel tcp = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()))) {
            unix.connect(UnixDomainSocketAddress.of(socket));
            for (SocketChannel ch : List.of(unix, tcp)) {
                Frames frames = new Frames(ch);
                frames.writePreface();
                callsAnswerAsOverGrpc(server, frames);
            }
        }
        assertFalse(Files.exists(socket), "the socket file goes when the server stops");
    }

    private static void callsAnswerAsOverGrpc(PageServer server, Frames frames) throws IOException {
        frames.writeRequest("ServerInfo", ServerInfoRequest.getDefaultInstance());
        Frames.Reply info = frames.readReply();
        assertTrue(info.ok(), info.toString());
        assertEquals(server.pageStore().incarnation(), ServerInfoReply.parseFrom(info.payload()).getIncarnation());

        frames.writeRequest("GetAttr", GetAttrRequest.newBuilder().setPath("/missing").build());
        Frames.Reply missing = frames.readReply();
        assertTrue(missing.ok());
        assertEquals(2, NodeReply.parseFrom(missing.payload()).getErrno(), "ENOENT in the reply, as over gRPC");

        frames.writeRequest("Frobnicate", ServerInfoRequest.getDefaultInstance());
        assertEquals(Status.Code.UNIMPLEMENTED, frames.readReply().status().getCode());

        // Field 1 of this message is a PageRef whose varints are not UTF-8: not a GetAttrRequest's path.
        frames.writeRequest("GetAttr", org.dbfs.protocol.pageserver.v1.PageImage.newBuilder()
                .setPage(org.dbfs.protocol.pageserver.v1.PageRef.newBuilder().setBlockNum(-1)).build());
        Frames.Reply malformed = frames.readReply();
        assertEquals(Status.Code.INVALID_ARGUMENT, malformed.status().getCode(), malformed.status().toString());

        frames.writeRequest("ServerInfo", ServerInfoRequest.getDefaultInstance());
        assertTrue(frames.readReply().ok(), "the connection serves on after failed calls");
    }

    @Test
    void grpcIsServedOnTheSamePortAndAnythingElseIsClosed() throws Exception {
        try (PageServer server = start(dir.resolve("ps.sock"))) {
            ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
            try {
                PageServerGrpc.PageServerBlockingStub stub = PageServerGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(30, TimeUnit.SECONDS);
                assertEquals(server.pageStore().incarnation(), stub.serverInfo(ServerInfoRequest.getDefaultInstance()).getIncarnation());
                assertEquals(2, stub.getAttr(GetAttrRequest.newBuilder().setPath("/missing").build()).getErrno());
            } finally {
                channel.shutdownNow();
            }
            try (SocketChannel stranger = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()))) {
                stranger.write(ByteBuffer.wrap("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
                int got;
                try {
                    got = stranger.read(ByteBuffer.allocate(64));
                } catch (java.net.SocketException reset) {
                    got = -1; // closed with our unread bytes in its buffer: a reset, not a FIN
                }
                assertEquals(-1, got, "a connection in neither protocol is closed unanswered");
            }
        }
    }

    @Test
    void aStaleSocketIsReplacedButALiveOneOrAnyOtherFileIsNot() throws Exception {
        Path socket = dir.resolve("ps.sock");
        try (ServerSocketChannel killed = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            killed.bind(UnixDomainSocketAddress.of(socket)); // closed without unlinking: what kill -9 leaves
        }
        assertTrue(Files.exists(socket));
        try (PageServer server = start(socket)) {
            IOException inUse = assertThrows(IOException.class, () -> PageServer.start(
                    PageServerConfig.of(dir.resolve("bucket2").toUri().toString(), dir.resolve("cache2"), PASSPHRASE.clone())
                            .withLocalSocket(socket)));
            assertTrue(inUse.getMessage().contains("in use"), inUse.getMessage());
        }
        Path notASocket = Files.writeString(dir.resolve("precious.txt"), "data");
        IOException refused = assertThrows(IOException.class, () -> start(notASocket));
        assertTrue(refused.getMessage().contains("not a socket"), refused.getMessage());
        assertEquals("data", Files.readString(notASocket));
    }
}
