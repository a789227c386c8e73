package org.dbfs.pgformat.page;

import static org.dbfs.pgformat.page.PageBytes.u16;
import static org.dbfs.pgformat.page.PageBytes.putU16;

/**
 * HeapTupleHeaderData (access/htup_details.h) at an absolute offset in a byte array.
 *
 * <pre>
 *  0 t_xmin u32 | 4 t_xmax u32 | 8 t_cid/t_xvac u32 | 12 t_ctid (6) | 18 t_infomask2 u16 | 20 t_infomask u16 | 22 t_hoff u8 | 23 bits...
 * </pre>
 */
public final class HeapTupleHeader {
    public static final int SIZE = 23;
    public static final int XMIN_OFFSET = 0;
    public static final int XMAX_OFFSET = 4;
    public static final int CID_OFFSET = 8;
    public static final int CTID_OFFSET = 12;
    public static final int INFOMASK2_OFFSET = 18;
    public static final int INFOMASK_OFFSET = 20;
    public static final int HOFF_OFFSET = 22;

    public static final int HEAP_HASNULL = 0x0001;
    public static final int HEAP_COMBOCID = 0x0020;
    public static final int HEAP_XMAX_KEYSHR_LOCK = 0x0010;
    public static final int HEAP_XMAX_EXCL_LOCK = 0x0040;
    public static final int HEAP_XMAX_LOCK_ONLY = 0x0080;
    public static final int HEAP_LOCK_MASK = 0x0050;
    public static final int HEAP_XMIN_COMMITTED = 0x0100;
    public static final int HEAP_XMIN_INVALID = 0x0200;
    public static final int HEAP_XMIN_FROZEN = 0x0300;
    public static final int HEAP_XMAX_COMMITTED = 0x0400;
    public static final int HEAP_XMAX_INVALID = 0x0800;
    public static final int HEAP_XMAX_IS_MULTI = 0x1000;
    public static final int HEAP_UPDATED = 0x2000;
    public static final int HEAP_MOVED = 0xC000;
    public static final int HEAP_XMAX_BITS = 0x1CD0;
    public static final int HEAP_XACT_MASK = 0xFFF0;

    public static final int HEAP_KEYS_UPDATED = 0x2000;
    public static final int HEAP_HOT_UPDATED = 0x4000;
    public static final int HEAP_ONLY_TUPLE = 0x8000;

    /** t_ctid offset number of a speculative insertion token. */
    public static final int SPEC_TOKEN_OFFSET_NUMBER = 0xFFFE;
    /** t_ctid of a tuple moved to another partition: (InvalidBlockNumber, 0xFFFD). */
    public static final long MOVED_PARTITIONS_BLOCK = 0xFFFF_FFFFL;
    public static final int MOVED_PARTITIONS_OFFSET = 0xFFFD;

    private HeapTupleHeader() {
    }

    public static int infomask(byte[] b, int t) {
        return u16(b, t + INFOMASK_OFFSET);
    }

    public static void setInfomask(byte[] b, int t, int v) {
        putU16(b, t + INFOMASK_OFFSET, v);
    }

    public static int infomask2(byte[] b, int t) {
        return u16(b, t + INFOMASK2_OFFSET);
    }

    public static void setInfomask2(byte[] b, int t, int v) {
        putU16(b, t + INFOMASK2_OFFSET, v);
    }

    public static int hoff(byte[] b, int t) {
        return b[t + HOFF_OFFSET] & 0xFF;
    }

    public static void setXmin(byte[] b, int t, long xid) {
        PageBytes.putI32(b, t + XMIN_OFFSET, (int) xid);
    }

    public static void setXmax(byte[] b, int t, long xid) {
        PageBytes.putI32(b, t + XMAX_OFFSET, (int) xid);
    }

    /** Writes the t_cid/t_xvac word as is. */
    public static void setCidField(byte[] b, int t, long v) {
        PageBytes.putI32(b, t + CID_OFFSET, (int) v);
    }

    /** HeapTupleHeaderSetCmin/SetCmax(tup, cid, false): t_cid = cid and HEAP_COMBOCID cleared. */
    public static void setCid(byte[] b, int t, long cid) {
        setCidField(b, t, cid);
        setInfomask(b, t, infomask(b, t) & ~HEAP_COMBOCID);
    }

    public static void setCtid(byte[] b, int t, long block, int offnum) {
        PageBytes.putItemPointer(b, t + CTID_OFFSET, block, offnum);
    }

    /** HEAP_XMAX_IS_LOCKED_ONLY(infomask). */
    public static boolean xmaxIsLockedOnly(int infomask) {
        return (infomask & HEAP_XMAX_LOCK_ONLY) != 0
                || (infomask & (HEAP_XMAX_IS_MULTI | HEAP_LOCK_MASK)) == HEAP_XMAX_EXCL_LOCK;
    }
}
