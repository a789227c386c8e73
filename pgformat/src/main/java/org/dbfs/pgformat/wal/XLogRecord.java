package org.dbfs.pgformat.wal;

import java.util.zip.CRC32C;

/**
 * XLogRecord and its fragment headers (access/xlogrecord.h), PG15 layout: offsets and flag values.
 *
 * <pre>
 *  0               4               8                              16  17  18      20              24
 *  +---------------+---------------+------------------------------+---+---+-------+---------------+
 *  | xl_tot_len    | xl_xid        | xl_prev (u64)                |inf|rm | pad   | xl_crc        |
 *  +---------------+---------------+------------------------------+---+---+-------+---------------+
 *  then, unaligned: block headers (id 0..32), origin (253), toplevel xid (252), main data header (254/255),
 *  then each block's image and data in id order, then the main data.
 * </pre>
 */
public final class XLogRecord {
    public static final int SizeOfXLogRecord = 24;

    public static final int TOT_LEN_OFFSET = 0;
    public static final int XID_OFFSET = 4;
    public static final int PREV_OFFSET = 8;
    public static final int INFO_OFFSET = 16;
    public static final int RMID_OFFSET = 17;
    public static final int CRC_OFFSET = 20;

    /** The low nibble of xl_info belongs to the WAL machinery, the high nibble to the rmgr. */
    public static final int XLR_INFO_MASK = 0x0F;
    public static final int XLR_RMGR_INFO_MASK = 0xF0;
    public static final int XLR_SPECIAL_REL_UPDATE = 0x01;
    public static final int XLR_CHECK_CONSISTENCY = 0x02;

    /** XLogRecordMaxSize: the largest record the PG15 decoder accepts (1020 MB). */
    public static final long XLogRecordMaxSize = 1020L * 1024 * 1024;

    public static final int XLR_MAX_BLOCK_ID = 32;
    public static final int XLR_BLOCK_ID_DATA_SHORT = 255;
    public static final int XLR_BLOCK_ID_DATA_LONG = 254;
    public static final int XLR_BLOCK_ID_ORIGIN = 253;
    public static final int XLR_BLOCK_ID_TOPLEVEL_XID = 252;

    public static final int BKPBLOCK_FORK_MASK = 0x0F;
    public static final int BKPBLOCK_HAS_IMAGE = 0x10;
    public static final int BKPBLOCK_HAS_DATA = 0x20;
    public static final int BKPBLOCK_WILL_INIT = 0x40;
    public static final int BKPBLOCK_SAME_REL = 0x80;

    /** bimg_info bits of PG15 (PG14's differ). */
    public static final int BKPIMAGE_HAS_HOLE = 0x01;
    public static final int BKPIMAGE_APPLY = 0x02;
    public static final int BKPIMAGE_COMPRESS_PGLZ = 0x04;
    public static final int BKPIMAGE_COMPRESS_LZ4 = 0x08;
    public static final int BKPIMAGE_COMPRESS_ZSTD = 0x10;
    public static final int BKPIMAGE_COMPRESSED_MASK = BKPIMAGE_COMPRESS_PGLZ | BKPIMAGE_COMPRESS_LZ4 | BKPIMAGE_COMPRESS_ZSTD;

    /** RM_XLOG_ID's XLOG_SWITCH: the rest of the segment is unused. */
    public static final int RM_XLOG_ID = 0;
    public static final int XLOG_SWITCH = 0x40;

    /** RM_MAX_BUILTIN_ID and RM_MIN_CUSTOM_ID of PG15 (RmgrIdIsValid). */
    public static final int RM_MAX_BUILTIN_ID = 21;
    public static final int RM_MIN_CUSTOM_ID = 128;

    private XLogRecord() {
    }

    public static long totLen(byte[] b, int off) {
        return LittleEndian.u32(b, off + TOT_LEN_OFFSET);
    }

    public static int xid(byte[] b, int off) {
        return LittleEndian.i32(b, off + XID_OFFSET);
    }

    public static long prev(byte[] b, int off) {
        return LittleEndian.i64(b, off + PREV_OFFSET);
    }

    public static int info(byte[] b, int off) {
        return LittleEndian.u8(b, off + INFO_OFFSET);
    }

    public static int rmid(byte[] b, int off) {
        return LittleEndian.u8(b, off + RMID_OFFSET);
    }

    public static int crc(byte[] b, int off) {
        return LittleEndian.i32(b, off + CRC_OFFSET);
    }

    public static boolean rmgrIdIsValid(int rmid) {
        return rmid <= RM_MAX_BUILTIN_ID || rmid >= RM_MIN_CUSTOM_ID;
    }

    /**
     * The record's CRC-32C as PostgreSQL computes it: the payload after the header first, then the
     * header up to (not including) xl_crc, padding bytes included.
     */
    public static int computeCrc(CRC32C crc, byte[] rec, int off, int totLen) {
        crc.reset();
        crc.update(rec, off + SizeOfXLogRecord, totLen - SizeOfXLogRecord);
        crc.update(rec, off, CRC_OFFSET);
        return (int) crc.getValue();
    }
}
