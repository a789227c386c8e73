package org.dbfs.pageserver.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class FrameHeaderTest {

    /** The header's check is what docs/storage-format.md says it is, so other tools can verify it. */
    @Test
    void theCheckIsCrc32cOfTheFileNameAndTheLittleEndianLength() {
        String name = "00000000000000000042.crc.journal";
        FrameHeader header = new FrameHeader(name);
        for (int length : new int[] {FrameHeader.MIN_FRAME, 8220, 1 << 20, JournalFile.MAX_FRAME}) {
            CRC32C expected = new CRC32C();
            expected.update(name.getBytes(StandardCharsets.UTF_8));
            expected.update(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, length));
            assertEquals((int) expected.getValue(), header.crc(length), "length " + length);

            ByteBuffer written = ByteBuffer.allocate(FrameHeader.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            header.put(written, length);
            assertEquals(length, header.frameLength(written, 0));
            assertEquals(FrameHeader.NOT_A_HEADER, new FrameHeader("another.crc.journal").frameLength(written, 0),
                    "a reused file's old headers are not headers under its new name");
        }
        assertEquals(FrameHeader.END, header.frameLength(ByteBuffer.allocate(8), 0));
    }
}
