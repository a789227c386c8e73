package org.dbfs.protocol.framed;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import io.grpc.Status;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

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

    private static final int BUFFER = 64 << 10;

    private final SocketChannel channel;
    private final ByteBuffer in = ByteBuffer.allocateDirect(BUFFER).limit(0); // unread bytes: position to limit
    private final ByteBuffer out = ByteBuffer.allocateDirect(BUFFER);

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
        out.clear();
        out.put(PREFACE);
        writeOut();
    }

    public void writeRequest(String method, MessageLite message) throws IOException {
        byte[] name = method.getBytes(StandardCharsets.UTF_8);
        int size = message.getSerializedSize();
        ByteBuffer b = frameBuffer(4 + 2 + name.length + size);
        b.putInt(2 + name.length + size).putShort((short) name.length).put(name);
        serialize(message, b);
    }

    /** The next request, or null when the peer closed the connection between requests. */
    public Request readRequest() throws IOException {
        byte[] body = readFrame(true);
        if (body == null) {
            return null;
        }
        int nameLength = ((body[0] & 0xff) << 8) | (body[1] & 0xff);
        if (2 + nameLength > body.length) {
            throw new IOException("bad method name length " + nameLength + " on a page server connection");
        }
        return new Request(new String(body, 2, nameLength, StandardCharsets.UTF_8),
                Arrays.copyOfRange(body, 2 + nameLength, body.length));
    }

    public void writeReply(MessageLite message) throws IOException {
        int size = message.getSerializedSize();
        ByteBuffer b = frameBuffer(4 + 1 + size);
        b.putInt(1 + size).put((byte) 0);
        serialize(message, b);
    }

    public void writeError(Status status) throws IOException {
        byte[] text = String.valueOf(status.getDescription()).getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = frameBuffer(4 + 1 + text.length);
        b.putInt(1 + text.length).put((byte) status.getCode().value()).put(text);
        writeFrame(b);
    }

    public Reply readReply() throws IOException {
        byte[] body = readFrame(false);
        return new Reply(Byte.toUnsignedInt(body[0]), Arrays.copyOfRange(body, 1, body.length));
    }

    private static int checkedLength(int length) throws IOException {
        if (length < 1 || length > MAX_FRAME) {
            throw new IOException("bad frame length " + Integer.toUnsignedString(length) + " on a page server connection");
        }
        return length;
    }

    // Frames go out in one write from a direct buffer of the connection's own (the JDK would copy
    // a heap buffer into a temporary direct one first), and come in through another, read as far
    // as the socket has bytes: a call costs one read and one write system call at each end.

    /** The connection's out buffer, cleared, if a frame of {@code size} fits; else a new heap buffer. */
    private ByteBuffer frameBuffer(int size) {
        if (size <= BUFFER) {
            return out.clear();
        }
        return ByteBuffer.allocate(size);
    }

    private void serialize(MessageLite message, ByteBuffer b) throws IOException {
        CodedOutputStream coded = CodedOutputStream.newInstance(b);
        message.writeTo(coded);
        coded.flush(); // moves b's position past the message
        writeFrame(b);
    }

    private void writeFrame(ByteBuffer b) throws IOException {
        b.flip();
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    private void writeOut() throws IOException {
        writeFrame(out);
    }

    /** The next frame's body (after its length), or null at the end of the stream if {@code eofAllowed}. */
    private byte[] readFrame(boolean eofAllowed) throws IOException {
        if (!fill(4, eofAllowed)) {
            return null;
        }
        int length = checkedLength(in.getInt());
        byte[] body = new byte[length];
        int have = Math.min(in.remaining(), length);
        in.get(body, 0, have);
        int rest = length - have;
        if (rest > 0 && rest <= BUFFER) {
            fill(rest, false);
            in.get(body, have, rest);
        } else if (rest > 0) {
            ByteBuffer tail = ByteBuffer.wrap(body, have, rest);
            while (tail.hasRemaining()) {
                if (channel.read(tail) < 0) {
                    throw new EOFException("a page server connection closed in the middle of a message");
                }
            }
        }
        return body;
    }

    /**
     * Makes at least {@code n} (at most {@link #BUFFER}) unread bytes available in {@code in}.
     * @return false if the stream ended before any byte and {@code eofAllowed}
     */
    private boolean fill(int n, boolean eofAllowed) throws IOException {
        if (in.remaining() >= n) {
            return true;
        }
        in.compact();
        try {
            while (in.position() < n) {
                if (channel.read(in) < 0) {
                    if (eofAllowed && in.position() == 0) {
                        return false;
                    }
                    throw new EOFException("a page server connection closed in the middle of a message");
                }
            }
        } finally {
            in.flip();
        }
        return true;
    }
}
