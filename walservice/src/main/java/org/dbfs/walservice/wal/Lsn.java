package org.dbfs.walservice.wal;

/**
 * PostgreSQL log sequence numbers (XLogRecPtr): an unsigned 64-bit byte position in the WAL
 * stream, printed as {@code HI/LO} in hex the way PostgreSQL prints them ({@code 0/16B3748}).
 */
public final class Lsn {
    /** InvalidXLogRecPtr. */
    public static final long INVALID = 0;
    /** XLOG_BLCKSZ: WAL pages are 8 KiB. */
    public static final int WAL_PAGE_BYTES = 8192;

    private Lsn() {}

    public static String format(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xffffffffL).toUpperCase();
    }

    /** Parses {@code HI/LO} as PostgreSQL prints it. */
    public static long parse(String text) {
        int slash = text.indexOf('/');
        if (slash <= 0 || slash == text.length() - 1) {
            throw new IllegalArgumentException("not an LSN (want HI/LO in hex, like 0/16B3748): lsn=" + text);
        }
        long hi = Long.parseUnsignedLong(text.substring(0, slash).trim(), 16);
        long lo = Long.parseUnsignedLong(text.substring(slash + 1).trim(), 16);
        if (hi > 0xffffffffL || lo > 0xffffffffL) {
            throw new IllegalArgumentException("LSN half out of range: lsn=" + text);
        }
        return hi << 32 | lo;
    }

    /** 16 upper-case hex digits, zero padded: sorts as text in LSN order. */
    public static String hex16(long lsn) {
        return String.format("%016X", lsn);
    }

    /** The start of the WAL page holding {@code lsn}. */
    public static long pageStart(long lsn) {
        return lsn & ~(long) (WAL_PAGE_BYTES - 1);
    }
}
