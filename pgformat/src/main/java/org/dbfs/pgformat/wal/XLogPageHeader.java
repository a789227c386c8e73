package org.dbfs.pgformat.wal;

/**
 * XLogPageHeaderData and XLogLongPageHeaderData (access/xlog_internal.h), PG15 layout.
 *
 * <pre>
 *  0       2       4               8                              16              20      24
 *  +-------+-------+---------------+------------------------------+---------------+-------+
 *  | magic | info  | tli           | pageaddr (u64)               | rem_len       | pad   |   short header
 *  +-------+-------+---------------+------------------------------+---------------+-------+
 *  24                              32              36              40
 *  +-------------------------------+---------------+---------------+
 *  | sysid (u64)                   | seg_size      | xlog_blcksz   |                          long header only
 *  +-------------------------------+---------------+---------------+
 * </pre>
 *
 * Validation follows XLogReaderValidatePageHeader; the messages are PostgreSQL's so that an
 * operator can grep for them. The timeline check needs the previous page and lives in the reader.
 */
public final class XLogPageHeader {
    public static final int XLOG_BLCKSZ = 8192;
    /** XLOG_PAGE_MAGIC of PG15; other major versions use other values and are refused. */
    public static final int XLOG_PAGE_MAGIC = 0xD110;

    public static final int MAGIC_OFFSET = 0;
    public static final int INFO_OFFSET = 2;
    public static final int TLI_OFFSET = 4;
    public static final int PAGEADDR_OFFSET = 8;
    public static final int REM_LEN_OFFSET = 16;
    public static final int SYSID_OFFSET = 24;
    public static final int SEG_SIZE_OFFSET = 32;
    public static final int XLOG_BLCKSZ_OFFSET = 36;

    /** SizeOfXLogShortPHD: MAXALIGN(sizeof(XLogPageHeaderData)). */
    public static final int SizeOfXLogShortPHD = 24;
    /** SizeOfXLogLongPHD: MAXALIGN(sizeof(XLogLongPageHeaderData)). */
    public static final int SizeOfXLogLongPHD = 40;

    public static final int XLP_FIRST_IS_CONTRECORD = 0x0001;
    public static final int XLP_LONG_HEADER = 0x0002;
    /** Set on nearly every page; only pg_archivecleanup-style tools look at it. */
    public static final int XLP_BKP_REMOVABLE = 0x0004;
    public static final int XLP_FIRST_IS_OVERWRITE_CONTRECORD = 0x0008;
    public static final int XLP_ALL_FLAGS = 0x000F;

    private XLogPageHeader() {
    }

    public static int magic(byte[] page, int off) {
        return LittleEndian.u16(page, off + MAGIC_OFFSET);
    }

    public static int info(byte[] page, int off) {
        return LittleEndian.u16(page, off + INFO_OFFSET);
    }

    public static int tli(byte[] page, int off) {
        return LittleEndian.i32(page, off + TLI_OFFSET);
    }

    public static long pageAddr(byte[] page, int off) {
        return LittleEndian.i64(page, off + PAGEADDR_OFFSET);
    }

    public static long remLen(byte[] page, int off) {
        return LittleEndian.u32(page, off + REM_LEN_OFFSET);
    }

    public static long sysid(byte[] page, int off) {
        return LittleEndian.i64(page, off + SYSID_OFFSET);
    }

    public static long segSize(byte[] page, int off) {
        return LittleEndian.u32(page, off + SEG_SIZE_OFFSET);
    }

    public static long xlogBlcksz(byte[] page, int off) {
        return LittleEndian.u32(page, off + XLOG_BLCKSZ_OFFSET);
    }

    /** XLogPageHeaderSize: 40 with XLP_LONG_HEADER, else 24. */
    public static int headerSize(byte[] page, int off) {
        return (info(page, off) & XLP_LONG_HEADER) != 0 ? SizeOfXLogLongPHD : SizeOfXLogShortPHD;
    }

    /**
     * The checks of XLogReaderValidatePageHeader that need no history: magic, flag bits, long header
     * exactly at segment starts with matching sysid/segment size/block size, and pageaddr.
     *
     * @param page         buffer holding at least {@link #headerSize} bytes of the page at {@code off}
     * @param expectedAddr the LSN of the page's first byte
     * @param segSize      the WAL segment size the reader was set up with
     * @param sysid        the system identifier to expect, or 0 to accept any
     * @return null if the header is valid, else PostgreSQL's error message
     */
    public static String validate(byte[] page, int off, long expectedAddr, int segSize, long sysid) {
        int segOff = Lsn.segmentOffset(expectedAddr, segSize);
        String where = " in WAL segment " + Lsn.segmentNumber(expectedAddr, segSize) + ", LSN "
                + Lsn.format(expectedAddr) + ", offset " + segOff;
        int magic = magic(page, off);
        if (magic != XLOG_PAGE_MAGIC) {
            return String.format("invalid magic number %04X", magic) + where;
        }
        int info = info(page, off);
        if ((info & ~XLP_ALL_FLAGS) != 0) {
            return String.format("invalid info bits %04X", info) + where;
        }
        if ((info & XLP_LONG_HEADER) != 0) {
            if (sysid != 0 && sysid(page, off) != sysid) {
                return "WAL file is from different database system: WAL file database system identifier is "
                        + Long.toUnsignedString(sysid(page, off)) + ", pg_control database system identifier is "
                        + Long.toUnsignedString(sysid);
            }
            if (segSize(page, off) != segSize) {
                return "WAL file is from different database system: incorrect segment size in page header";
            }
            if (xlogBlcksz(page, off) != XLOG_BLCKSZ) {
                return "WAL file is from different database system: incorrect XLOG_BLCKSZ in page header";
            }
        } else if (segOff == 0) {
            // The first page of a segment must carry the long header.
            return String.format("invalid info bits %04X", info) + where;
        }
        long pageAddr = pageAddr(page, off);
        if (pageAddr != expectedAddr) {
            // A recycled segment still holds pages of an older position: the usual end of WAL.
            return "unexpected pageaddr " + Lsn.format(pageAddr) + where;
        }
        return null;
    }
}
