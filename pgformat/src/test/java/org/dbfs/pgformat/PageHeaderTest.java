package org.dbfs.pgformat;

import org.dbfs.pgformat.wal.Lsn;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PageHeaderTest {

    @Test
    void pdLsnIsXlogidThenXrecoffEachLittleEndian() {
        byte[] page = new byte[PgConstants.BLCKSZ];
        // xlogid = 0x00000001, xrecoff = 0x0A0B0C0D, as an x86 PostgreSQL writes them.
        byte[] header = {0x01, 0x00, 0x00, 0x00, 0x0D, 0x0C, 0x0B, 0x0A};
        System.arraycopy(header, 0, page, 0, header.length);
        assertEquals(0x1_0A0B0C0DL, PageHeader.PageGetLSN(page, 0));
        assertEquals("1/A0B0C0D", Lsn.format(PageHeader.PageGetLSN(page, 0)));
    }

    @Test
    void unsignedHalves() {
        byte[] page = new byte[PgConstants.BLCKSZ];
        for (int i = 0; i < 8; i++) {
            page[i] = (byte) 0xFF;
        }
        assertEquals(-1L, PageHeader.PageGetLSN(page, 0));
        assertEquals("FFFFFFFF/FFFFFFFF", Lsn.format(-1L));
    }

    @Test
    void pageAtAnOffsetAndRoundTrip() {
        byte[] pages = new byte[3 * PgConstants.BLCKSZ];
        PageHeader.PageSetLSN(pages, PgConstants.BLCKSZ, 0x16_B374_D848L);
        PageHeader.PageSetLSN(pages, 2 * PgConstants.BLCKSZ, 0x8000_0000_0000_0001L);
        assertEquals(0, PageHeader.PageGetLSN(pages, 0));
        assertEquals(0x16_B374_D848L, PageHeader.PageGetLSN(pages, PgConstants.BLCKSZ));
        assertEquals(0x8000_0000_0000_0001L, PageHeader.PageGetLSN(ByteBuffer.wrap(pages), 2 * PgConstants.BLCKSZ));
        assertEquals((byte) 0x16, pages[PgConstants.BLCKSZ], "xlogid low byte first");
        assertEquals((byte) 0x48, pages[PgConstants.BLCKSZ + 4], "xrecoff low byte first");
    }

    @Test
    void readingIgnoresTheBufferByteOrderAndPosition() {
        ByteBuffer buffer = ByteBuffer.allocateDirect(PgConstants.BLCKSZ);
        buffer.putInt(0, 0x02000000); // big-endian view of little-endian xlogid 2
        buffer.position(100);
        assertEquals(2L << 32, PageHeader.PageGetLSN(buffer, 0));
        assertEquals(100, buffer.position());
    }

    @Test
    void constants() {
        assertEquals(8192, PgConstants.BLCKSZ);
        assertEquals(131072, PgConstants.RELSEG_SIZE);
        assertEquals(1L << 30, (long) PgConstants.BLCKSZ * PgConstants.RELSEG_SIZE);
    }
}
