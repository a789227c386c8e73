package org.dbfs.pageserver.journal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.dbfs.bucket.crypto.GcmFrames;

/**
 * What stands in front of every frame of a {@link JournalFormat#CHECKED_GCM} journal file:
 *
 * <pre>
 *   u32 frame length | u32 CRC32C of (file name in UTF-8, frame length)     both little endian
 * </pre>
 *
 * The frame's tag authenticates the frame but not the length in front of it. A damaged length
 * points replay at the wrong bytes, and without a check of its own replay could not tell a torn
 * last write from damage with acknowledged records after it. With one, replay steps past damage
 * byte by byte looking for the next header, and rejects what is not one before any decryption:
 * zeros (preallocated space) fail the length bounds, and the stale frames of a reused file fail
 * the CRC, because their CRCs cover the file's old name.
 */
final class FrameHeader {
    static final int BYTES = 8;
    /** What {@link #frameLength} says of eight zero bytes: the records end here. */
    static final int END = 0;
    /** What {@link #frameLength} says of anything else that is not a header. */
    static final int NOT_A_HEADER = -1;
    /** No AES-GCM frame is shorter: its nonce and tag. */
    static final int MIN_FRAME = GcmFrames.NONCE_BYTES + GcmFrames.TAG_BYTES;

    /** CRC32C (Castagnoli, reflected) a byte at a time. */
    private static final int[] CRC_TABLE = new int[256];

    static {
        for (int n = 0; n < 256; n++) {
            int c = n;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ 0x82F63B78 : c >>> 1;
            }
            CRC_TABLE[n] = c;
        }
    }

    /**
     * The CRC register after the file name. Computed here rather than with java.util.zip.CRC32C,
     * which cannot resume from a saved state: a scan over a reused file's stale bytes checks a
     * candidate at one position in sixteen, and a fresh CRC32C over the name for each one made
     * that scan five times slower.
     */
    private final int afterFileName;

    FrameHeader(String fileName) {
        int crc = ~0;
        for (byte b : fileName.getBytes(StandardCharsets.UTF_8)) {
            crc = update(crc, b);
        }
        this.afterFileName = crc;
    }

    /** Puts the header of a frame of {@code frameLength} bytes into {@code buf} (little endian). */
    void put(ByteBuffer buf, int frameLength) {
        buf.putInt(frameLength).putInt(crc(frameLength));
    }

    /**
     * The frame length the header at {@code buf}'s index {@code i} gives, {@link #END} or
     * {@link #NOT_A_HEADER}. Bounds first: a scan over zeros or random bytes rarely gets to the CRC.
     */
    int frameLength(ByteBuffer buf, int i) {
        int length = buf.getInt(i);
        if (length >= MIN_FRAME && length <= JournalFile.MAX_FRAME && buf.getInt(i + 4) == crc(length)) {
            return length;
        }
        return length == 0 && buf.getInt(i + 4) == 0 ? END : NOT_A_HEADER;
    }

    /** CRC32C of the file name followed by {@code frameLength} in little endian. */
    int crc(int frameLength) {
        int crc = afterFileName;
        for (int shift = 0; shift < 32; shift += 8) {
            crc = update(crc, frameLength >>> shift);
        }
        return ~crc;
    }

    private static int update(int crc, int b) {
        return CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
    }
}
