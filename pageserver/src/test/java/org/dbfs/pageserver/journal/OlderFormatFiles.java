package org.dbfs.pageserver.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.FrameSealer;
import org.dbfs.pageserver.format.JournalRecord;

/** Journal files as page servers wrote them before frame headers had a CRC: {@code [u32 length][frame]}. */
final class OlderFormatFiles {
    private OlderFormatFiles() {}

    /** Writes {@code records} to a new file, then the zero length that ends them; returns where each frame's length is. */
    static long[] write(Path file, FrameSealer sealer, List<JournalRecord> records) throws IOException {
        long[] positions = new long[records.size()];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long pos = 0;
            for (int i = 0; i < records.size(); i++) {
                positions[i] = pos;
                byte[] frame = sealer.seal(records.get(i).toByteArray(),
                        FrameCodec.associatedData(file.getFileName().toString(), pos + 4));
                ByteBuffer b = ByteBuffer.allocate(4 + frame.length).order(ByteOrder.LITTLE_ENDIAN);
                b.putInt(frame.length).put(frame).flip();
                pos += ch.write(b, pos);
            }
            ch.write(ByteBuffer.allocate(4), pos);
        }
        return positions;
    }
}
