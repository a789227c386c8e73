package org.dbfs.pgformat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * PostgreSQL's PageHeaderData (storage/bufpage.h), as far as DbFS needs it.
 *
 * <p>pd_lsn is a PageXLogRecPtr: two uint32 halves {@code xlogid} and {@code xrecoff} in the
 * machine's byte order (little endian on the x86-64 and aarch64 builds we support), so it cannot be
 * read as one 64-bit integer on a little-endian machine.
 */
public final class PageHeader {

    /** offsetof(PageHeaderData, pd_linp): the fixed part of every page header. */
    public static final int SizeOfPageHeaderData = 24;

    private PageHeader() {
    }

    /** PageGetLSN(): the LSN of the page starting at {@code pageOffset} (absolute index) in {@code page}. */
    public static long PageGetLSN(ByteBuffer page, int pageOffset) {
        ByteBuffer le = page.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long xlogid = Integer.toUnsignedLong(le.getInt(pageOffset));
        long xrecoff = Integer.toUnsignedLong(le.getInt(pageOffset + 4));
        return (xlogid << 32) | xrecoff;
    }

    /** PageGetLSN() on a byte array. */
    public static long PageGetLSN(byte[] page, int pageOffset) {
        return PageGetLSN(ByteBuffer.wrap(page), pageOffset);
    }

    /** PageSetLSN(): writes {@code lsn} as pd_lsn into the page starting at {@code pageOffset}. */
    public static void PageSetLSN(byte[] page, int pageOffset, long lsn) {
        ByteBuffer le = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
        le.putInt(pageOffset, (int) (lsn >>> 32));
        le.putInt(pageOffset + 4, (int) lsn);
    }
}
