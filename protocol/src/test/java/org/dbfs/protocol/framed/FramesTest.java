package org.dbfs.protocol.framed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.BytesValue;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import java.io.EOFException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Frames of every size cross a connection intact: small ones, ones around the connection's 64 KB
 * buffers, one of several MB, frames that arrive together in one read and frames cut mid-way.
 */
class FramesTest {
    @Test
    void framesOfEverySizeArriveIntactAndInOrder() throws Exception {
        int[] sizes = {0, 1, 100, 8192, 65_536 - 20, 65_536 - 7, 65_536, 65_536 + 1, 200_000, 5 << 20};
        SplittableRandom rnd = new SplittableRandom(7);
        byte[][] payloads = new byte[sizes.length][];
        for (int i = 0; i < sizes.length; i++) {
            payloads[i] = new byte[sizes[i]];
            rnd.nextBytes(payloads[i]);
        }
        try (ServerSocketChannel listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             SocketChannel client = SocketChannel.open(listener.getLocalAddress());
             SocketChannel server = listener.accept()) {
            Frames c = new Frames(client);
            Frames s = new Frames(server);
            // An echo server; the client sends every request before it reads a reply, so the
            // server's reads find several frames, and parts of frames, at once.
            Thread echo = Thread.ofPlatform().start(() -> {
                try {
                    for (Frames.Request r; (r = s.readRequest()) != null; ) {
                        if (r.method().equals("Fail")) {
                            s.writeError(Status.NOT_FOUND.withDescription("no such thing"));
                        } else {
                            s.writeReply(BytesValue.parseFrom(r.payload()));
                        }
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    for (byte[] p : payloads) {
                        c.writeRequest("Echo", BytesValue.of(ByteString.copyFrom(p)));
                    }
                    c.writeRequest("Fail", BytesValue.getDefaultInstance());
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            for (int i = 0; i < sizes.length; i++) {
                Frames.Reply reply = c.readReply();
                assertEquals(0, reply.code(), "reply " + i);
                assertArrayEquals(payloads[i], BytesValue.parseFrom(reply.payload()).getValue().toByteArray(),
                        "a frame of " + sizes[i] + " bytes, there and back");
            }
            Frames.Reply error = c.readReply();
            assertEquals(Status.Code.NOT_FOUND, error.status().getCode());
            assertEquals("no such thing", error.status().getDescription());
            writer.join();
            client.shutdownOutput();
            echo.join(); // it saw the end of the stream between frames as no request, and ended
        }
    }

    @Test
    void aStreamThatEndsInsideAFrameIsAnError() throws Exception {
        try (ServerSocketChannel listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             SocketChannel client = SocketChannel.open(listener.getLocalAddress());
             SocketChannel server = listener.accept()) {
            client.write(ByteBuffer.allocate(6).putInt(100).putShort((short) 3).flip()); // 100 bytes promised, 2 sent
            client.shutdownOutput();
            assertThrows(EOFException.class, () -> new Frames(server).readRequest());
        }
    }
}
