package org.dbfs.pgformat.wal;

import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.zip.CRC32C;

/** Builds decoded WAL records by hand for redo unit tests (no images; block data and main data only). */
public final class TestRecords {
    /** A block reference of relation 1663/5/16384. */
    public record Block(int id, int fork, long blkno, boolean willInit, byte[] data) {
    }

    private TestRecords() {
    }

    /** An SMGR TRUNCATE record at {@code lsn}: xl_smgr_truncate {blkno, rnode, flags}, no block references. */
    public static DecodedRecord smgrTruncate(long lsn, int spcNode, int dbNode, int relNode, int blkno, int flags) {
        java.nio.ByteBuffer main = java.nio.ByteBuffer.allocate(20).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        main.putInt(blkno).putInt(spcNode).putInt(dbNode).putInt(relNode).putInt(flags);
        return build(2 /* RM_SMGR */, 0x20 /* XLOG_SMGR_TRUNCATE */, 0, lsn, List.of(), main.array());
    }

    public static DecodedRecord build(int rmid, int info, long xid, long lsn, List<Block> blocks, byte[] main) {
        ByteArrayOutputStream hdrs = new ByteArrayOutputStream();
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        for (Block b : blocks) {
            int dataLen = b.data() == null ? 0 : b.data().length;
            hdrs.write(b.id());
            hdrs.write(b.fork() | (dataLen > 0 ? XLogRecord.BKPBLOCK_HAS_DATA : 0)
                    | (b.willInit() ? XLogRecord.BKPBLOCK_WILL_INIT : 0));
            hdrs.write(dataLen & 0xFF);
            hdrs.write(dataLen >>> 8);
            for (long v : new long[] {1663, 5, 16384, b.blkno()}) {
                for (int i = 0; i < 4; i++) {
                    hdrs.write((int) (v >>> (8 * i)));
                }
            }
            if (dataLen > 0) {
                payload.writeBytes(b.data());
            }
        }
        if (main != null && main.length > 0) {
            hdrs.write(255);
            hdrs.write(main.length);
            payload.writeBytes(main);
        }
        byte[] h = hdrs.toByteArray();
        byte[] p = payload.toByteArray();
        byte[] r = new byte[24 + h.length + p.length];
        LittleEndian.putI32(r, 0, r.length);
        LittleEndian.putI32(r, 4, (int) xid);
        r[16] = (byte) info;
        r[17] = (byte) rmid;
        System.arraycopy(h, 0, r, 24, h.length);
        System.arraycopy(p, 0, r, 24 + h.length, p.length);
        LittleEndian.putI32(r, 20, XLogRecord.computeCrc(new CRC32C(), r, 0, r.length));
        DecodedRecord rec = new DecodedRecord();
        rec.reset(r, r.length, lsn, lsn + Lsn.maxAlign(r.length));
        String err = XLogRecordDecoder.decode(rec);
        if (err != null) {
            throw new IllegalArgumentException(err);
        }
        return rec;
    }
}
