package org.dbfs.pgformat.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LsnTest {
    @Test
    void formatsAndParsesLikePostgres() {
        assertEquals("0/14329DE0", Lsn.format(0x14329DE0L));
        assertEquals("1A/0", Lsn.format(0x1A_0000_0000L));
        assertEquals("0/01D1A4C8", Lsn.formatPadded(0x1D1A4C8L));
        assertEquals(0xFFFF_FFFF_FFFF_FFFFL, Lsn.parse("FFFFFFFF/FFFFFFFF"));
        assertEquals(0x14329DE0L, Lsn.parse("0/14329de0"));
        assertThrows(IllegalArgumentException.class, () -> Lsn.parse("0/"));
        assertThrows(IllegalArgumentException.class, () -> Lsn.parse("123456789/0"));
        assertThrows(IllegalArgumentException.class, () -> Lsn.parse("0x"));
    }

    @Test
    void segmentFileNamesRoundTrip() {
        int seg16 = 16 << 20;
        assertEquals("000000010000000000000014", Lsn.segmentFileName(1, Lsn.segmentNumber(0x14329DE0L, seg16), seg16));
        assertEquals("00000002000000AB000000FF", Lsn.segmentFileName(2, 0xAB * 256L + 0xFF, seg16));
        assertEquals(0xAB * 256L + 0xFF, Lsn.segmentNumberOfFileName("00000002000000AB000000FF", seg16));
        assertEquals(2, Lsn.timelineOfFileName("00000002000000AB000000FF"));
        int seg1g = 1 << 30;
        long segNo = Lsn.segmentNumber(0x5_C000_0000L, seg1g);
        assertEquals("000000010000000500000003", Lsn.segmentFileName(1, segNo, seg1g));
        assertEquals(segNo, Lsn.segmentNumberOfFileName("000000010000000500000003", seg1g));
        assertEquals(0x329DE0, Lsn.segmentOffset(0x14329DE0L, seg16));
        assertThrows(IllegalArgumentException.class, () -> Lsn.segmentNumber(0, 3 << 20));
    }
}
