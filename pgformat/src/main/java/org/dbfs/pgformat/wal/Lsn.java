package org.dbfs.pgformat.wal;

/**
 * XLogRecPtr arithmetic (access/xlog_internal.h, access/xlogdefs.h): an LSN is an unsigned 64-bit
 * byte position in the endless WAL stream, held in a Java {@code long} and compared unsigned.
 */
public final class Lsn {

    /** InvalidXLogRecPtr. */
    public static final long INVALID = 0L;

    private Lsn() {
    }

    /** LSN_FORMAT_ARGS with "%X/%X", the way PostgreSQL prints an LSN everywhere but pg_waldump's per-record lines. */
    public static String format(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xFFFF_FFFFL).toUpperCase();
    }

    /** "%X/%08X": pg_waldump's per-record lines pad the low half to eight digits. */
    public static String formatPadded(long lsn) {
        return String.format("%X/%08X", lsn >>> 32, lsn & 0xFFFF_FFFFL);
    }

    /** Parses "X/Y" (pg_lsn_in): two hex numbers of at most 8 digits each. */
    public static long parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 1 || slash > 8 || slash == text.length() - 1 || text.length() - slash - 1 > 8) {
            throw new IllegalArgumentException("not an LSN: \"" + text + "\"");
        }
        try {
            long hi = Long.parseLong(text, 0, slash, 16);
            long lo = Long.parseLong(text, slash + 1, text.length(), 16);
            return (hi << 32) | lo;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an LSN: \"" + text + "\"", e);
        }
    }

    /** 16 upper-case hex digits, zero padded: sorts as text in LSN order (object names, file names). */
    public static String hex16(long lsn) {
        return String.format("%016X", lsn);
    }

    /** The start of the XLOG_BLCKSZ (8 KiB) WAL page holding {@code lsn}. */
    public static long pageStart(long lsn) {
        return lsn & ~(long) (XLogPageHeader.XLOG_BLCKSZ - 1);
    }

    /** XLByteToSeg. */
    public static long segmentNumber(long lsn, int segSize) {
        checkSegSize(segSize);
        return Long.divideUnsigned(lsn, segSize);
    }

    /** XLogSegmentOffset. */
    public static int segmentOffset(long lsn, int segSize) {
        checkSegSize(segSize);
        return (int) (lsn & (segSize - 1));
    }

    /** XLogSegNoOffsetToRecPtr with offset 0: the first byte of a segment. */
    public static long segmentStart(long segNo, int segSize) {
        checkSegSize(segSize);
        return segNo * segSize;
    }

    /** XLogSegmentsPerXLogId: how many segments make up one "xlogid" (4 GiB of WAL). */
    public static long segmentsPerXLogId(int segSize) {
        checkSegSize(segSize);
        return 0x1_0000_0000L / segSize;
    }

    /** XLogFileName: "%08X%08X%08X" of timeline, segNo / segments-per-xlogid, segNo % segments-per-xlogid. */
    public static String segmentFileName(int timeline, long segNo, int segSize) {
        long perId = segmentsPerXLogId(segSize);
        return String.format("%08X%08X%08X", timeline & 0xFFFF_FFFFL, segNo / perId, segNo % perId);
    }

    /** XLogFromFileName: the segment number of a 24-hex-digit WAL file name. */
    public static long segmentNumberOfFileName(String fileName, int segSize) {
        if (fileName.length() != 24 || !fileName.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw new IllegalArgumentException("not a WAL segment file name: \"" + fileName + "\"");
        }
        long log = Long.parseLong(fileName, 8, 16, 16);
        long seg = Long.parseLong(fileName, 16, 24, 16);
        return log * segmentsPerXLogId(segSize) + seg;
    }

    /** The timeline part of a WAL segment file name. */
    public static int timelineOfFileName(String fileName) {
        segmentNumberOfFileName(fileName, 16 << 20);
        return (int) Long.parseLong(fileName, 0, 8, 16);
    }

    /** IsValidWalSegSize: a power of two from 1 MiB to 1 GiB. */
    public static boolean isValidSegSize(long segSize) {
        return segSize >= (1 << 20) && segSize <= (1 << 30) && Long.bitCount(segSize) == 1;
    }

    static void checkSegSize(int segSize) {
        if (!isValidSegSize(segSize)) {
            throw new IllegalArgumentException("invalid WAL segment size: segSize=" + segSize);
        }
    }

    /** MAXALIGN for the 64-bit builds we support. */
    public static long maxAlign(long v) {
        return (v + 7) & ~7L;
    }
}
