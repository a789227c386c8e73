package org.dbfs.protocol.framed;

import com.google.protobuf.MessageLite;
import io.grpc.Status;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * Framing of the page server's API for mounts, over TCP or a Unix-domain socket (one request, then
 * its reply, per connection at a time). The messages are pageserver.proto's; the methods are named
 * as in its service; failures carry gRPC status codes, so both transports fail alike.
 *
 * <pre>
 * connection: the client sends {@link #PREFACE} once, first
 * request: u32 length | u16 method name length | method name (UTF-8) | request message
 * reply:   u32 length | u8 status code (0 = OK) | reply message, or the status description (UTF-8)
 * </pre>
 * Integers are big-endian; length counts the bytes after it.
 */
public final class Frames {
    /**
     * What a client of this framing sends first. gRPC's own connection preface starts with
     * {@link #GRPC_PREFACE_START}, so one port tells the two apart by the first 4 bytes.
     */
    public static final byte[] PREFACE = {'D', 'B', 'F', '1'};
    public static final byte[] GRPC_PREFACE_START = {'P', 'R', 'I', ' '};

    /** As the gRPC channels' inbound limit. */
    public static final int MAX_FRAME = 64 << 20;

    private final SocketChannel channel;
    private final ByteBuffer header = ByteBuffer.allocate(6);

    public Frames(SocketChannel channel) {
        this.channel = channel;
    }

    public record Request(String method, byte[] payload) {}

    public record Reply(int code, byte[] payload) {
        public boolean ok() {
            return code == 0;
        }

        /** The failure as gRPC would have raised it. */
        public Status status() {
            return Status.fromCodeValue(code).withDescription(new String(payload, StandardCharsets.UTF_8));
        }
    }

    /** A client's first write on a new connection. */
    public void writePreface() throws IOException {
        writeFully(ByteBuffer.wrap(PREFACE));
    }

    public void writeRequest(String method, MessageLite message) throws IOException {
        byte[] name = method.getBytes(StandardCharsets.UTF_8);
        byte[] bytes = message.toByteArray();
        ByteBuffer b = ByteBuffer.allocate(4 + 2 + name.length + bytes.length);
        b.putInt(2 + name.length + bytes.length).putShort((short) name.length).put(name).put(bytes);
        writeFully(b.flip());
    }

    /** The next request, or null when the peer closed the connection between requests. */
    public Request readRequest() throws IOException {
        header.clear().limit(4);
        if (!readFully(header, true)) {
            return null;
        }
        int length = checkedLength(header.getInt(0));
        ByteBuffer body = ByteBuffer.allocate(length);
        readFully(body, false);
        body.flip();
        int nameLength = Short.toUnsignedInt(body.getShort());
        byte[] name = new byte[nameLength];
        body.get(name);
        byte[] payload = new byte[body.remaining()];
        body.get(payload);
        return new Request(new String(name, StandardCharsets.UTF_8), payload);
    }

    public void writeReply(MessageLite message) throws IOException {
        byte[] bytes = message.toByteArray();
        ByteBuffer b = ByteBuffer.allocate(4 + 1 + bytes.length);
        b.putInt(1 + bytes.length).put((byte) 0).put(bytes);
        writeFully(b.flip());
    }

    public void writeError(Status status) throws IOException {
        byte[] text = String.valueOf(status.getDescription()).getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + 1 + text.length);
        b.putInt(1 + text.length).put((byte) status.getCode().value()).put(text);
        writeFully(b.flip());
    }

    public Reply readReply() throws IOException {
        header.clear().limit(4);
        readFully(header, false);
        int length = checkedLength(header.getInt(0));
        ByteBuffer body = ByteBuffer.allocate(length);
        readFully(body, false);
        byte[] payload = new byte[length - 1];
        body.flip();
        int code = Byte.toUnsignedInt(body.get());
        body.get(payload);
        return new Reply(code, payload);
    }

    private static int checkedLength(int length) throws IOException {
        if (length < 1 || length > MAX_FRAME) {
            throw new IOException("bad frame length " + Integer.toUnsignedString(length) + " on a page server connection");
        }
        return length;
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    /** @return false if the channel ended before the first byte and {@code eofAllowed} */
    private boolean readFully(ByteBuffer b, boolean eofAllowed) throws IOException {
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                if (eofAllowed && b.position() == 0) {
                    return false;
                }
                throw new EOFException("a page server connection closed in the middle of a message");
            }
        }
        return true;
    }
}
