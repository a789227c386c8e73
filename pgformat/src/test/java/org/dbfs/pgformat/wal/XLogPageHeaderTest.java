package org.dbfs.pgformat.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class XLogPageHeaderTest {
    static final int SEG = 16 << 20;

    static byte[] page(long addr, int info, boolean longHeader) {
        byte[] p = new byte[8192];
        LittleEndian.putU16(p, 0, XLogPageHeader.XLOG_PAGE_MAGIC);
        LittleEndian.putU16(p, 2, info | (longHeader ? XLogPageHeader.XLP_LONG_HEADER : 0));
        LittleEndian.putI32(p, 4, 1);
        LittleEndian.putI64(p, 8, addr);
        if (longHeader) {
            LittleEndian.putI64(p, 24, 7_000_000_000_000_000_001L);
            LittleEndian.putI32(p, 32, SEG);
            LittleEndian.putI32(p, 36, 8192);
        }
        return p;
    }

    @Test
    void acceptsWhatPostgresWrites() {
        assertNull(XLogPageHeader.validate(page(0x1000000, XLogPageHeader.XLP_BKP_REMOVABLE, true), 0, 0x1000000, SEG, 0));
        assertNull(XLogPageHeader.validate(page(0x1002000, XLogPageHeader.XLP_FIRST_IS_CONTRECORD, false), 0, 0x1002000, SEG, 0));
        assertEquals(40, XLogPageHeader.headerSize(page(0x1000000, 0, true), 0));
        assertEquals(24, XLogPageHeader.headerSize(page(0x1002000, 0, false), 0));
    }

    @Test
    void refusesWhatPostgresRefuses() {
        byte[] p = page(0x1002000, 0, false);
        LittleEndian.putU16(p, 0, 0xD10D); // PG14's magic
        assertTrue(XLogPageHeader.validate(p, 0, 0x1002000, SEG, 0).startsWith("invalid magic number D10D"));
        assertTrue(XLogPageHeader.validate(page(0x1002000, 0x10, false), 0, 0x1002000, SEG, 0).startsWith("invalid info bits 0010"));
        assertTrue(XLogPageHeader.validate(page(0x1000000, 0, false), 0, 0x1000000, SEG, 0).startsWith("invalid info bits"),
                "a segment start needs the long header");
        assertTrue(XLogPageHeader.validate(page(0x0002000, 0, false), 0, 0x1002000, SEG, 0).startsWith("unexpected pageaddr 0/2000"),
                "a recycled segment");
        assertTrue(XLogPageHeader.validate(page(0x1000000, 0, true), 0, 0x1000000, SEG, 42).contains("different database system"));
        assertTrue(XLogPageHeader.validate(page(0x1000000, 0, true), 0, 0x1000000, 32 << 20, 0).contains("incorrect segment size"));
    }
}
