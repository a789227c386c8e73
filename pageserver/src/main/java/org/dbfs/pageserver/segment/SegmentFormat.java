package org.dbfs.pageserver.segment;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Layout of a segment object: an immutable, sorted run of block versions.
 *
 * <pre>
 *  0                   8                  12                 16
 *  +-------------------+------------------+------------------+
 *  | magic "DBFSSEG\0" | format version   | reserved (0)     |   header, plaintext
 *  +-------------------+------------------+------------------+
 *  | frame | frame | ... one sealed frame per block version, in footer order      |
 *  +------------------------------------------------------------------------------+
 *  | footer frame: sealed SegmentFooter (key, lsn, seq, offset, length per entry) |
 *  +-------------------+------------------+------------------+-------------------+
 *  | footer offset u64 | footer length u32| format version u32| magic "DBFSEND\0" |  trailer (24 bytes)
 *  +-------------------+------------------+------------------+-------------------+
 * </pre>
 *
 * All integers little endian. Every frame's associated data is (object name, frame offset), so a
 * frame moved or copied elsewhere does not open. There is no separate checksum: each frame's
 * authentication tag covers it, the plaintext trailer is checked for magic, version and bounds,
 * and the header too where the object is on this machine ({@link SegmentStore#loadFooter}). The manifest also records the footer's offset and length, so a reader needs one ranged
 * GET for the footer and one per frame.
 */
public final class SegmentFormat {
    public static final int FORMAT_VERSION = 1;
    public static final int HEADER_LENGTH = 16;
    public static final int TRAILER_LENGTH = 24;
    static final byte[] HEADER_MAGIC = "DBFSSEG\0".getBytes(StandardCharsets.US_ASCII);
    static final byte[] TRAILER_MAGIC = "DBFSEND\0".getBytes(StandardCharsets.US_ASCII);
    static final int TRAILER_FOOTER_OFFSET = 0;
    static final int TRAILER_FOOTER_LENGTH = 8;
    static final int TRAILER_VERSION = 12;
    static final int TRAILER_MAGIC_OFFSET = 16;

    private SegmentFormat() {}

    static byte[] header() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.put(HEADER_MAGIC).putInt(FORMAT_VERSION).putInt(0);
        return b.array();
    }

    static byte[] trailer(long footerOffset, int footerLength) {
        ByteBuffer b = ByteBuffer.allocate(TRAILER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(footerOffset).putInt(footerLength).putInt(FORMAT_VERSION).put(TRAILER_MAGIC);
        return b.array();
    }
}
