package org.dbfs.pgformat.wal;

import java.util.Arrays;

import org.dbfs.pgformat.BufferTag;
import org.dbfs.pgformat.ForkNumber;
import org.dbfs.pgformat.RelTag;

/**
 * One decoded WAL record (DecodedXLogRecord plus the reader's ReadRecPtr/EndRecPtr), as a flyweight
 * over the reader's record buffer. The reader reuses this object and the buffer for the next record:
 * a caller that keeps a record past the next {@link WalReader#next()} call takes a {@link #copy()}.
 *
 * <p>Block references are addressed by block id (0..{@link XLogRecord#XLR_MAX_BLOCK_ID}), as in
 * PostgreSQL's XLogRecGetBlockTag; ids may have gaps, so test {@link #hasBlockRef(int)} first.
 */
public final class DecodedRecord implements WalReadResult {
    private static final int MAX_BLOCKS = XLogRecord.XLR_MAX_BLOCK_ID + 1;

    byte[] buf = new byte[0];
    int totLen;
    long readRecPtr;
    long endRecPtr;

    int maxBlockId = -1;
    long origin = -1;
    long toplevelXid;
    int mainDataOff;
    int mainDataLen;

    final boolean[] inUse = new boolean[MAX_BLOCKS];
    final int[] forkFlags = new int[MAX_BLOCKS];
    final int[] spcNode = new int[MAX_BLOCKS];
    final int[] dbNode = new int[MAX_BLOCKS];
    final int[] relNode = new int[MAX_BLOCKS];
    final int[] blkno = new int[MAX_BLOCKS];
    final int[] dataOff = new int[MAX_BLOCKS];
    final int[] dataLen = new int[MAX_BLOCKS];
    final int[] imageOff = new int[MAX_BLOCKS];
    final int[] bimgLen = new int[MAX_BLOCKS];
    final int[] holeOffset = new int[MAX_BLOCKS];
    final int[] holeLength = new int[MAX_BLOCKS];
    final int[] bimgInfo = new int[MAX_BLOCKS];

    DecodedRecord() {
    }

    void reset(byte[] buf, int totLen, long readRecPtr, long endRecPtr) {
        this.buf = buf;
        this.totLen = totLen;
        this.readRecPtr = readRecPtr;
        this.endRecPtr = endRecPtr;
        for (int id = 0; id <= maxBlockId; id++) {
            inUse[id] = false;
        }
        maxBlockId = -1;
        origin = -1;
        toplevelXid = 0;
        mainDataOff = 0;
        mainDataLen = 0;
    }

    /** ReadRecPtr: the LSN of the record's first byte. */
    public long lsn() {
        return readRecPtr;
    }

    /** EndRecPtr: the aligned position after the record (the next segment for XLOG_SWITCH); what redo writes to pd_lsn. */
    public long endLsn() {
        return endRecPtr;
    }

    public int totalLength() {
        return totLen;
    }

    /** xl_xid as an unsigned 32-bit TransactionId. */
    public long xid() {
        return Integer.toUnsignedLong(XLogRecord.xid(buf, 0));
    }

    public long prev() {
        return XLogRecord.prev(buf, 0);
    }

    /** xl_info, both nibbles. */
    public int info() {
        return XLogRecord.info(buf, 0);
    }

    public int rmid() {
        return XLogRecord.rmid(buf, 0);
    }

    public int crc() {
        return XLogRecord.crc(buf, 0);
    }

    /** The rmgr's name as pg_waldump prints it ("Heap", "Btree", ...). */
    public String rmgrName() {
        return RmgrNames.rmName(rmid());
    }

    /** rm_identify: the record type as pg_waldump prints it ("HOT_UPDATE", "INSERT+INIT", ...), or "UNKNOWN (x)". */
    public String recordTypeName() {
        return RmgrNames.identifyOrUnknown(rmid(), info());
    }

    /** XLR_BLOCK_ID_ORIGIN's RepOriginId, or -1 without one (InvalidRepOriginId is 0, so -1 is out of band). */
    public long origin() {
        return origin;
    }

    /** XLR_BLOCK_ID_TOPLEVEL_XID, or 0 (InvalidTransactionId). */
    public long toplevelXid() {
        return toplevelXid;
    }

    /** The highest block id in use, -1 without block references. */
    public int maxBlockId() {
        return maxBlockId;
    }

    public boolean hasBlockRef(int blockId) {
        return blockId >= 0 && blockId <= maxBlockId && inUse[blockId];
    }

    public long spcNode(int blockId) {
        return Integer.toUnsignedLong(spcNode[check(blockId)]);
    }

    public long dbNode(int blockId) {
        return Integer.toUnsignedLong(dbNode[check(blockId)]);
    }

    public long relNode(int blockId) {
        return Integer.toUnsignedLong(relNode[check(blockId)]);
    }

    /** The relation fork of a block reference (XLogRecGetBlockTag's rnode and forknum). */
    public RelTag relTag(int blockId) {
        return new RelTag(spcNode[check(blockId)], dbNode[blockId], relNode[blockId], forkNum(blockId));
    }

    /** The page of a block reference (XLogRecGetBlockTag). */
    public BufferTag bufferTag(int blockId) {
        return new BufferTag(relTag(blockId), blkno[blockId]);
    }

    public int forkNum(int blockId) {
        return forkFlags[check(blockId)] & XLogRecord.BKPBLOCK_FORK_MASK;
    }

    public ForkNumber fork(int blockId) {
        return ForkNumber.of(forkNum(blockId));
    }

    /** The BlockNumber, unsigned 32-bit. */
    public long blockNumber(int blockId) {
        return Integer.toUnsignedLong(blkno[check(blockId)]);
    }

    /** BKPBLOCK_WILL_INIT: redo rebuilds the page from scratch. */
    public boolean willInit(int blockId) {
        return (forkFlags[check(blockId)] & XLogRecord.BKPBLOCK_WILL_INIT) != 0;
    }

    public boolean hasImage(int blockId) {
        return (forkFlags[check(blockId)] & XLogRecord.BKPBLOCK_HAS_IMAGE) != 0;
    }

    /** BKPIMAGE_APPLY: redo must restore the image; without it the image is only for wal_consistency_checking. */
    public boolean imageApply(int blockId) {
        return hasImage(blockId) && (bimgInfo[blockId] & XLogRecord.BKPIMAGE_APPLY) != 0;
    }

    public int bimgInfo(int blockId) {
        return bimgInfo[check(blockId)];
    }

    public boolean imageCompressed(int blockId) {
        return (bimgInfo[check(blockId)] & XLogRecord.BKPIMAGE_COMPRESSED_MASK) != 0;
    }

    /** The image's compression method as pg_waldump -b names it: "pglz", "lz4", "zstd" or "unknown"; null if not compressed. */
    public String imageCompressionMethod(int blockId) {
        int info = bimgInfo[check(blockId)];
        if ((info & XLogRecord.BKPIMAGE_COMPRESS_PGLZ) != 0) {
            return "pglz";
        } else if ((info & XLogRecord.BKPIMAGE_COMPRESS_LZ4) != 0) {
            return "lz4";
        } else if ((info & XLogRecord.BKPIMAGE_COMPRESS_ZSTD) != 0) {
            return "zstd";
        }
        return null;
    }

    /** bimg_len: the image's length in the record (after hole removal and compression). */
    public int imageLength(int blockId) {
        return hasImage(blockId) ? bimgLen[blockId] : 0;
    }

    public int holeOffset(int blockId) {
        return holeOffset[check(blockId)];
    }

    public int holeLength(int blockId) {
        return holeLength[check(blockId)];
    }

    /** The record buffer; image, block data and main data are slices of it. Valid until the next read. */
    public byte[] buffer() {
        return buf;
    }

    public int imageOffset(int blockId) {
        return imageOff[check(blockId)];
    }

    public int blockDataOffset(int blockId) {
        return dataOff[check(blockId)];
    }

    public int blockDataLength(int blockId) {
        return dataLen[check(blockId)];
    }

    public byte[] blockData(int blockId) {
        return Arrays.copyOfRange(buf, dataOff[check(blockId)], dataOff[blockId] + dataLen[blockId]);
    }

    public int mainDataOffset() {
        return mainDataOff;
    }

    public int mainDataLength() {
        return mainDataLen;
    }

    public byte[] mainData() {
        return Arrays.copyOfRange(buf, mainDataOff, mainDataOff + mainDataLen);
    }

    /** The record's bytes, header included, exactly as they are in WAL. */
    public byte[] recordBytes() {
        return Arrays.copyOf(buf, totLen);
    }

    /** The sum of image lengths: pg_waldump's "FPI size" of this record. */
    public int fpiLength() {
        int sum = 0;
        for (int id = 0; id <= maxBlockId; id++) {
            if (inUse[id] && (forkFlags[id] & XLogRecord.BKPBLOCK_HAS_IMAGE) != 0) {
                sum += bimgLen[id];
            }
        }
        return sum;
    }

    /** A copy that owns its bytes and survives the reader moving on. */
    public DecodedRecord copy() {
        DecodedRecord c = new DecodedRecord();
        c.buf = recordBytes();
        c.totLen = totLen;
        c.readRecPtr = readRecPtr;
        c.endRecPtr = endRecPtr;
        c.maxBlockId = maxBlockId;
        c.origin = origin;
        c.toplevelXid = toplevelXid;
        c.mainDataOff = mainDataOff;
        c.mainDataLen = mainDataLen;
        int n = maxBlockId + 1;
        System.arraycopy(inUse, 0, c.inUse, 0, n);
        System.arraycopy(forkFlags, 0, c.forkFlags, 0, n);
        System.arraycopy(spcNode, 0, c.spcNode, 0, n);
        System.arraycopy(dbNode, 0, c.dbNode, 0, n);
        System.arraycopy(relNode, 0, c.relNode, 0, n);
        System.arraycopy(blkno, 0, c.blkno, 0, n);
        System.arraycopy(dataOff, 0, c.dataOff, 0, n);
        System.arraycopy(dataLen, 0, c.dataLen, 0, n);
        System.arraycopy(imageOff, 0, c.imageOff, 0, n);
        System.arraycopy(bimgLen, 0, c.bimgLen, 0, n);
        System.arraycopy(holeOffset, 0, c.holeOffset, 0, n);
        System.arraycopy(holeLength, 0, c.holeLength, 0, n);
        System.arraycopy(bimgInfo, 0, c.bimgInfo, 0, n);
        return c;
    }

    private int check(int blockId) {
        if (!hasBlockRef(blockId)) {
            throw new IllegalArgumentException("record at " + Lsn.format(readRecPtr) + " has no block reference blockId=" + blockId);
        }
        return blockId;
    }

    @Override
    public String toString() {
        return "DecodedRecord[" + rmgrName() + "/" + recordTypeName() + " at " + Lsn.format(readRecPtr)
                + " len=" + totLen + " end=" + Lsn.format(endRecPtr) + "]";
    }
}
