package org.dbfs.pgformat.wal;

import static org.dbfs.pgformat.wal.XLogPageHeader.*;
import static org.dbfs.pgformat.wal.XLogRecord.SizeOfXLogRecord;

import java.util.zip.CRC32C;

/**
 * A streaming WAL record reader (xlogreader.c's XLogReadRecord / XLogDecodeNextRecord and
 * XLogFindNextRecord) over a {@link WalSource}.
 *
 * <p>{@link #next()} returns the next {@link DecodedRecord}, or a {@link WalEnd} that says why there
 * is none at {@link #position()}. A {@code WalEnd} never moves the reader: when the source had too
 * few bytes ({@link WalEnd.Reason#NEED_MORE_BYTES}), the caller waits for more and calls
 * {@code next()} again; the record is then read again from its start. That re-read is the price of
 * having no half-assembled state to get wrong, and it only happens once per wait.
 *
 * <p>Not thread-safe: one reader belongs to one consumer thread. The returned record is a flyweight
 * over the reader's buffer, valid until the next call.
 */
public final class WalReader {
    private static final int NEED_MORE = 1;
    private static final int BAD_PAGE = 2;

    private final WalSource source;
    private final int segSize;
    private long sysid;

    private final byte[] page = new byte[XLOG_BLCKSZ];
    private long pagePtr = -1;
    private int pageLoaded;
    private boolean pageHeaderValid;
    private String pageError;
    private long latestPagePtr;
    private int latestPageTli;

    private byte[] recBuf = new byte[4 * XLOG_BLCKSZ];
    private final DecodedRecord record = new DecodedRecord();
    private final CRC32C crc = new CRC32C();

    /** Where the next record starts (or the page boundary before it). */
    private long nextRecPtr;
    /** ReadRecPtr of the last record returned; INVALID before the first (PG's "random access"). */
    private long prevRecPtr = Lsn.INVALID;
    /** XLogFindNextRecord in progress: the first record at or after this LSN is wanted. */
    private long findTarget = Lsn.INVALID;
    private boolean findingPageStart;
    private long overwrittenRecPtr = Lsn.INVALID;

    private WalReader(WalSource source, long start, int segSize, long sysid, boolean find) {
        Lsn.checkSegSize(segSize);
        this.source = source;
        this.segSize = segSize;
        this.sysid = sysid;
        this.nextRecPtr = start;
        if (find) {
            this.findTarget = start;
            this.findingPageStart = true;
        }
    }

    /**
     * A reader whose first record starts exactly at {@code recordStart} (a record's LSN, or a page or
     * segment boundary where a record begins, such as a checkpoint's redo pointer or an EndRecPtr).
     *
     * @param sysid the database system identifier to insist on, or 0 to take the first long header's
     */
    public static WalReader atRecord(WalSource source, long recordStart, int segSize, long sysid) {
        return new WalReader(source, recordStart, segSize, sysid, false);
    }

    /**
     * A reader that starts at the first record that begins at or after {@code lsn}, which may be
     * anywhere, e.g. a segment start whose first page continues a record (XLogFindNextRecord).
     */
    public static WalReader findFirstRecord(WalSource source, long lsn, int segSize, long sysid) {
        return new WalReader(source, lsn, segSize, sysid, true);
    }

    /**
     * Moves to the record starting at {@code recordStart}, as XLogBeginRead does (random access: the
     * next record's xl_prev is not checked against the previous one). The buffers and the WAL page
     * already read are kept, so reading scattered records of one source costs no new reader each.
     */
    public void seek(long recordStart) {
        nextRecPtr = recordStart;
        prevRecPtr = Lsn.INVALID;
        findTarget = Lsn.INVALID;
        findingPageStart = false;
        overwrittenRecPtr = Lsn.INVALID;
    }

    /** EndRecPtr of the last record returned (or the start position): where the next read begins. */
    public long position() {
        return findingPageStart ? findTarget : nextRecPtr;
    }

    public int segmentSize() {
        return segSize;
    }

    /** The system identifier from the long page headers seen so far (0 if none yet). */
    public long systemIdentifier() {
        return sysid;
    }

    /** The start of a record that was abandoned and overwritten (XLP_FIRST_IS_OVERWRITE_CONTRECORD), or INVALID. */
    public long overwrittenRecPtr() {
        return overwrittenRecPtr;
    }

    /** Reads the next record; see the class comment. */
    public WalReadResult next() {
        if (findingPageStart) {
            WalEnd end = skipToFirstRecordStart();
            if (end != null) {
                return end;
            }
        }
        while (true) {
            WalReadResult r = readRecord();
            if (r instanceof DecodedRecord rec && findTarget != Lsn.INVALID) {
                if (Long.compareUnsigned(rec.lsn(), findTarget) < 0) {
                    continue; // XLogFindNextRecord reads forward past records before the target
                }
                findTarget = Lsn.INVALID;
            }
            return r;
        }
    }

    /** The page-skipping half of XLogFindNextRecord: finds the first record start on or after the target's page. */
    private WalEnd skipToFirstRecordStart() {
        long tmp = findTarget;
        while (true) {
            long targetPage = tmp - (tmp % XLOG_BLCKSZ);
            int st = loadPage(targetPage, SizeOfXLogShortPHD);
            if (st != 0) {
                return pageEnd(st, targetPage, findTarget);
            }
            int hdr = headerSize(page, 0);
            if ((info(page, 0) & XLP_FIRST_IS_CONTRECORD) != 0) {
                long remLen = Lsn.maxAlign(remLen(page, 0));
                if (remLen >= XLOG_BLCKSZ - hdr) {
                    tmp = targetPage + XLOG_BLCKSZ; // the continued record covers this whole page
                    continue;
                }
                tmp = targetPage + hdr + remLen;
            } else {
                tmp = targetPage + hdr;
            }
            break;
        }
        nextRecPtr = tmp;
        findingPageStart = false;
        return null;
    }

    private WalReadResult readRecord() {
        long recPtr = nextRecPtr;
        restart:
        while (true) {
            int targetRecOff = (int) (recPtr % XLOG_BLCKSZ);
            long targetPagePtr = recPtr - targetRecOff;
            int st = loadPage(targetPagePtr, Math.max(targetRecOff, SizeOfXLogShortPHD));
            if (st != 0) {
                return pageEnd(st, targetPagePtr, nextRecPtr);
            }
            int hdr = headerSize(page, 0);
            if (targetRecOff == 0) {
                recPtr += hdr; // at a page start: the record begins after the page header
                targetRecOff = hdr;
            } else if (targetRecOff < hdr) {
                return new WalEnd(WalEnd.Reason.INVALID_RECORD, recPtr, "invalid record offset at " + Lsn.format(recPtr));
            }
            if ((info(page, 0) & XLP_FIRST_IS_CONTRECORD) != 0 && targetRecOff == hdr) {
                return new WalEnd(WalEnd.Reason.INVALID_RECORD, recPtr, "contrecord is requested by " + Lsn.format(recPtr));
            }
            // xl_tot_len is always on the first page; the rest of the header may not be.
            st = loadPage(targetPagePtr, Math.min(targetRecOff + SizeOfXLogRecord, XLOG_BLCKSZ));
            if (st != 0) {
                return pageEnd(st, targetPagePtr, nextRecPtr);
            }
            long totLenU = XLogRecord.totLen(page, targetRecOff);
            boolean gotHeader = false;
            if (targetRecOff <= XLOG_BLCKSZ - SizeOfXLogRecord) {
                WalEnd bad = validateHeader(page, targetRecOff, recPtr);
                if (bad != null) {
                    return bad;
                }
                gotHeader = true;
            } else if (totLenU < SizeOfXLogRecord) {
                return invalidLength(recPtr, totLenU);
            }
            if (totLenU > XLogRecord.XLogRecordMaxSize) {
                return new WalEnd(WalEnd.Reason.INVALID_RECORD_LENGTH, recPtr,
                        "record length " + totLenU + " at " + Lsn.format(recPtr) + " too long");
            }
            int totLen = (int) totLenU;
            if (recBuf.length < totLen) {
                recBuf = new byte[Math.max(totLen, recBuf.length * 2)];
            }
            long endPtr;
            int firstPiece = XLOG_BLCKSZ - targetRecOff;
            if (totLen > firstPiece) {
                st = loadPage(targetPagePtr, XLOG_BLCKSZ);
                if (st != 0) {
                    return pageEnd(st, targetPagePtr, nextRecPtr);
                }
                System.arraycopy(page, targetRecOff, recBuf, 0, firstPiece);
                int gotLen = firstPiece;
                long pp = targetPagePtr;
                long remLen;
                int contHdr;
                do {
                    pp += XLOG_BLCKSZ;
                    st = loadPage(pp, SizeOfXLogShortPHD);
                    if (st != 0) {
                        return pageEnd(st, pp, nextRecPtr);
                    }
                    int pinfo = info(page, 0);
                    if ((pinfo & XLP_FIRST_IS_OVERWRITE_CONTRECORD) != 0) {
                        // The partial record was abandoned (crash, promotion); what follows replaces it.
                        overwrittenRecPtr = recPtr;
                        recPtr = pp;
                        continue restart;
                    }
                    if ((pinfo & XLP_FIRST_IS_CONTRECORD) == 0) {
                        return new WalEnd(WalEnd.Reason.INVALID_RECORD, recPtr, "there is no contrecord flag at " + Lsn.format(pp));
                    }
                    remLen = remLen(page, 0);
                    if (remLen == 0 || totLen != remLen + gotLen) {
                        return new WalEnd(WalEnd.Reason.INVALID_RECORD, recPtr, "invalid contrecord length " + remLen
                                + " (expected " + (totLen - gotLen) + ") at " + Lsn.format(pp));
                    }
                    contHdr = headerSize(page, 0);
                    int piece = (int) Math.min(remLen, XLOG_BLCKSZ - contHdr);
                    st = loadPage(pp, contHdr + piece);
                    if (st != 0) {
                        return pageEnd(st, pp, nextRecPtr);
                    }
                    System.arraycopy(page, contHdr, recBuf, gotLen, piece);
                    gotLen += piece;
                    if (!gotHeader && gotLen >= SizeOfXLogRecord) {
                        WalEnd bad = validateHeader(recBuf, 0, recPtr);
                        if (bad != null) {
                            return bad;
                        }
                        gotHeader = true;
                    }
                } while (gotLen < totLen);
                endPtr = pp + contHdr + Lsn.maxAlign(remLen);
            } else {
                st = loadPage(targetPagePtr, targetRecOff + totLen);
                if (st != 0) {
                    return pageEnd(st, targetPagePtr, nextRecPtr);
                }
                System.arraycopy(page, targetRecOff, recBuf, 0, totLen);
                endPtr = recPtr + Lsn.maxAlign(totLen);
            }
            if (XLogRecord.computeCrc(crc, recBuf, 0, totLen) != XLogRecord.crc(recBuf, 0)) {
                return new WalEnd(WalEnd.Reason.CRC_MISMATCH, recPtr,
                        "incorrect resource manager data checksum in record at " + Lsn.format(recPtr));
            }
            if (XLogRecord.rmid(recBuf, 0) == XLogRecord.RM_XLOG_ID
                    && (XLogRecord.info(recBuf, 0) & XLogRecord.XLR_RMGR_INFO_MASK) == XLogRecord.XLOG_SWITCH) {
                // Pretend the switch record extends to the end of its segment.
                endPtr += segSize - 1;
                endPtr -= Lsn.segmentOffset(endPtr, segSize);
            }
            record.reset(recBuf, totLen, recPtr, endPtr);
            String err = XLogRecordDecoder.decode(record);
            if (err != null) {
                return new WalEnd(WalEnd.Reason.INVALID_RECORD, recPtr, err);
            }
            prevRecPtr = recPtr;
            nextRecPtr = endPtr;
            return record;
        }
    }

    /** ValidXLogRecordHeader. */
    private WalEnd validateHeader(byte[] b, int off, long recPtr) {
        long totLen = XLogRecord.totLen(b, off);
        if (totLen < SizeOfXLogRecord) {
            return invalidLength(recPtr, totLen);
        }
        int rmid = XLogRecord.rmid(b, off);
        if (!XLogRecord.rmgrIdIsValid(rmid)) {
            return new WalEnd(WalEnd.Reason.INVALID_RECORD, recPtr,
                    "invalid resource manager ID " + rmid + " at " + Lsn.format(recPtr));
        }
        long prev = XLogRecord.prev(b, off);
        boolean ok = prevRecPtr == Lsn.INVALID
                ? Long.compareUnsigned(prev, recPtr) < 0 // random access: the link must at least point backwards
                : prev == prevRecPtr;
        if (!ok) {
            return new WalEnd(WalEnd.Reason.BAD_PREV_LINK, recPtr,
                    "record with incorrect prev-link " + Lsn.format(prev) + " at " + Lsn.format(recPtr));
        }
        return null;
    }

    private static WalEnd invalidLength(long recPtr, long totLen) {
        return new WalEnd(WalEnd.Reason.INVALID_RECORD_LENGTH, recPtr, "invalid record length at "
                + Lsn.format(recPtr) + ": wanted " + SizeOfXLogRecord + ", got " + totLen);
    }

    private WalEnd pageEnd(int status, long pageLsn, long resumeAt) {
        if (status == NEED_MORE) {
            return new WalEnd(WalEnd.Reason.NEED_MORE_BYTES, resumeAt, "no WAL available at " + Lsn.format(pageLsn + pageLoaded));
        }
        return new WalEnd(WalEnd.Reason.INVALID_PAGE_HEADER, pageLsn, pageError);
    }

    /**
     * Makes bytes [0, need) of the page at {@code ptr} available in {@link #page}, validating its
     * header once. Returns 0, NEED_MORE or BAD_PAGE. A failed page is forgotten so that a retry
     * reads it afresh (a recycled segment may have been overwritten meanwhile).
     */
    private int loadPage(long ptr, int need) {
        if (ptr != pagePtr) {
            pagePtr = ptr;
            pageLoaded = 0;
            pageHeaderValid = false;
        }
        if (!fill(Math.max(need, SizeOfXLogShortPHD))) {
            return NEED_MORE;
        }
        if (!pageHeaderValid) {
            if (!fill(headerSize(page, 0))) {
                return NEED_MORE;
            }
            String err = XLogPageHeader.validate(page, 0, ptr, segSize, sysid);
            int tli = tli(page, 0);
            if (err == null && Long.compareUnsigned(ptr, latestPagePtr) > 0
                    && Integer.compareUnsigned(tli, latestPageTli) < 0) {
                err = "out-of-sequence timeline ID " + Integer.toUnsignedString(tli) + " (after "
                        + Integer.toUnsignedString(latestPageTli) + ") at " + Lsn.format(ptr);
            }
            if (err != null) {
                pageError = err;
                pagePtr = -1;
                return BAD_PAGE;
            }
            latestPagePtr = ptr;
            latestPageTli = tli;
            if (sysid == 0 && (info(page, 0) & XLP_LONG_HEADER) != 0) {
                sysid = XLogPageHeader.sysid(page, 0);
            }
            pageHeaderValid = true;
        }
        return 0;
    }

    private boolean fill(int need) {
        while (pageLoaded < need) {
            int n = source.read(pagePtr + pageLoaded, page, pageLoaded, XLOG_BLCKSZ - pageLoaded);
            if (n <= 0) {
                return false;
            }
            pageLoaded += n;
        }
        return true;
    }
}
