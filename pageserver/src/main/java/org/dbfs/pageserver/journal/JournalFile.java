package org.dbfs.pageserver.journal;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.FrameSealer;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.pageserver.format.JournalRecord;

/**
 * The frames of one journal file, by its name: how a record is laid out at a position (header,
 * then the record sealed with the associated data (file name, position of the sealed bytes)), and
 * how one is read back. Which header and which cipher come from the name ({@link JournalFormat}).
 */
final class JournalFile {
    static final int MAX_FRAME = 256 << 20;

    private final String name;
    private final JournalFormat format;
    private final FrameSealer sealer;
    /** Null for the formats whose header is a bare length. */
    private final FrameHeader checkedHeader;

    private JournalFile(String name, JournalFormat format, FrameSealer sealer) {
        this.name = name;
        this.format = format;
        this.sealer = sealer;
        this.checkedHeader = format.checkedHeaders() ? new FrameHeader(name) : null;
    }

    static JournalFile named(String name, FrameCodec codec) {
        JournalFormat format = JournalFormat.of(name);
        return new JournalFile(name, format, format.sealer(codec, name));
    }

    String name() {
        return name;
    }

    JournalFormat format() {
        return format;
    }

    int headerBytes() {
        return format.headerBytes;
    }

    /**
     * What an append writes at {@code position}: the header, the record sealed for that place, and
     * the zeros that end the records after it (the next append overwrites them).
     */
    ByteBuffer appendAt(long position, byte[] record) {
        byte[] frame = sealer.seal(record, FrameCodec.associatedData(name, position + headerBytes()));
        ByteBuffer buf = ByteBuffer.allocate(headerBytes() + frame.length + headerBytes()).order(ByteOrder.LITTLE_ENDIAN);
        if (checkedHeader != null) {
            checkedHeader.put(buf, frame.length);
        } else {
            buf.putInt(frame.length);
        }
        return buf.put(frame).put(new byte[headerBytes()]).flip();
    }

    /**
     * The frame length the header at {@code position} gives, {@link FrameHeader#END} or
     * {@link FrameHeader#NOT_A_HEADER} (also where no whole header fits before {@code size}).
     */
    int frameLengthAt(FileChannel ch, long position, long size) throws IOException {
        if (position + headerBytes() > size) {
            return FrameHeader.NOT_A_HEADER;
        }
        ByteBuffer header = ByteBuffer.allocate(headerBytes()).order(ByteOrder.LITTLE_ENDIAN);
        return readFully(ch, header, position) ? frameLength(header, 0) : FrameHeader.NOT_A_HEADER;
    }

    /** {@link #frameLengthAt} for header bytes at index {@code i} of {@code buf} (little endian). */
    int frameLength(ByteBuffer buf, int i) {
        if (checkedHeader != null) {
            return checkedHeader.frameLength(buf, i);
        }
        int length = buf.getInt(i);
        if (length == 0) {
            return FrameHeader.END;
        }
        return length < 0 || length > MAX_FRAME ? FrameHeader.NOT_A_HEADER : length;
    }

    /**
     * The record whose header is at {@code position}, or null if there is none intact: no header,
     * a frame running past {@code size}, one that fails authentication, or no record inside.
     */
    JournalRecord readAt(FileChannel ch, long position, long size) throws IOException {
        int length = frameLengthAt(ch, position, size);
        long frameAt = position + headerBytes();
        if (length <= 0 || frameAt + length > size) {
            return null;
        }
        ByteBuffer frame = ByteBuffer.allocate(length);
        if (!readFully(ch, frame, frameAt)) {
            return null;
        }
        try {
            return JournalRecord.parseFrom(sealer.open(frame.array(), FrameCodec.associatedData(name, frameAt), name + "@" + frameAt));
        } catch (IntegrityException | InvalidProtocolBufferException e) {
            return null;
        }
    }

    /** Fills {@code buf} from {@code position} on; false if the file ends first. */
    static boolean readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            if (ch.read(buf, position + buf.position()) < 0) {
                return false;
            }
        }
        return true;
    }
}
