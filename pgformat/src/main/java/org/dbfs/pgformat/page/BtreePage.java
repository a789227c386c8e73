package org.dbfs.pgformat.page;

import static org.dbfs.pgformat.page.PageBytes.u16;
import static org.dbfs.pgformat.page.PageBytes.putU16;

/**
 * nbtree's page special area (BTPageOpaqueData, 16 bytes at pd_special), the metapage and
 * IndexTupleData / posting-list tuples (access/nbtree.h, access/itup.h).
 *
 * <pre>
 *  opaque: 0 btpo_prev u32 | 4 btpo_next u32 | 8 btpo_level u32 | 12 btpo_flags u16 | 14 btpo_cycleid u16
 *  index tuple: 0 t_tid (6) | 6 t_info u16 (size 0x1FFF, ALT_TID 0x2000) | key ...
 * </pre>
 */
public final class BtreePage {
    public static final int OPAQUE_SIZE = 16;
    public static final int BTP_LEAF = 0x1;
    public static final int BTP_ROOT = 0x2;
    public static final int BTP_DELETED = 0x4;
    public static final int BTP_META = 0x8;
    public static final int BTP_HALF_DEAD = 0x10;
    public static final int BTP_SPLIT_END = 0x20;
    public static final int BTP_HAS_GARBAGE = 0x40;
    public static final int BTP_INCOMPLETE_SPLIT = 0x80;
    public static final int BTP_HAS_FULLXID = 0x100;
    public static final int P_NONE = 0;
    public static final int P_HIKEY = 1;

    public static final int BTREE_MAGIC = 0x053162;
    public static final int META_OFFSET = Page.SIZE_OF_PAGE_HEADER;
    /** pd_lower of the metapage: header plus sizeof(BTMetaPageData) = 24 + 48. */
    public static final int META_PD_LOWER = 72;

    public static final int INDEX_SIZE_MASK = 0x1FFF;
    public static final int INDEX_ALT_TID_MASK = 0x2000;
    public static final int BT_IS_POSTING = 0x2000;
    public static final int BT_OFFSET_MASK = 0x0FFF;
    public static final int T_INFO_OFFSET = 6;
    public static final int ITEM_POINTER_SIZE = 6;
    public static final int INDEX_TUPLE_HEADER_SIZE = 8;

    private BtreePage() {
    }

    private static int opaque(byte[] p) {
        return Page.special(p);
    }

    /** _bt_pageinit(). */
    public static void init(byte[] p) {
        Page.init(p, OPAQUE_SIZE);
    }

    public static long prev(byte[] p) {
        return PageBytes.u32(p, opaque(p));
    }

    public static long next(byte[] p) {
        return PageBytes.u32(p, opaque(p) + 4);
    }

    public static int flags(byte[] p) {
        return u16(p, opaque(p) + 12);
    }

    public static void setPrev(byte[] p, long v) {
        PageBytes.putI32(p, opaque(p), (int) v);
    }

    public static void setNext(byte[] p, long v) {
        PageBytes.putI32(p, opaque(p) + 4, (int) v);
    }

    public static void setLevel(byte[] p, long v) {
        PageBytes.putI32(p, opaque(p) + 8, (int) v);
    }

    public static void setFlags(byte[] p, int v) {
        putU16(p, opaque(p) + 12, v);
    }

    public static void setCycleId(byte[] p, int v) {
        putU16(p, opaque(p) + 14, v);
    }

    /** Sets all five opaque fields. */
    public static void setOpaque(byte[] p, long prev, long next, long level, int flags) {
        setPrev(p, prev);
        setNext(p, next);
        setLevel(p, level);
        setFlags(p, flags);
        setCycleId(p, 0);
    }

    public static boolean isLeaf(byte[] p) {
        return (flags(p) & BTP_LEAF) != 0;
    }

    /** P_FIRSTDATAKEY(): 1 on the rightmost page of a level, else 2 (after the high key). */
    public static int firstDataKey(byte[] p) {
        return next(p) == P_NONE ? P_HIKEY : P_HIKEY + 1;
    }

    // ---- index tuples at an absolute offset ----

    public static int tupleInfo(byte[] b, int t) {
        return u16(b, t + T_INFO_OFFSET);
    }

    public static int tupleSize(byte[] b, int t) {
        return tupleInfo(b, t) & INDEX_SIZE_MASK;
    }

    public static boolean isPosting(byte[] b, int t) {
        return (tupleInfo(b, t) & INDEX_ALT_TID_MASK) != 0
                && (PageBytes.itemPointerOffset(b, t) & BT_IS_POSTING) != 0;
    }

    /** BTreeTupleGetNPosting(). */
    public static int postingCount(byte[] b, int t) {
        return PageBytes.itemPointerOffset(b, t) & BT_OFFSET_MASK;
    }

    /** BTreeTupleGetPostingOffset(): where the TID array starts (= the key size). */
    public static int postingOffset(byte[] b, int t) {
        return (int) PageBytes.itemPointerBlock(b, t);
    }

    /**
     * _bt_form_posting() / _bt_update_posting() result: {@code keySize} bytes of {@code base}, then the
     * {@code n} TIDs ({@code tids}, 6 bytes each); a plain tuple with the single TID when n == 1.
     */
    public static byte[] formPosting(byte[] base, int baseOff, int keySize, byte[] tids, int n) {
        int newSize = n > 1 ? PageBytes.maxAlign(keySize + n * ITEM_POINTER_SIZE) : keySize;
        byte[] t = new byte[newSize];
        System.arraycopy(base, baseOff, t, 0, keySize);
        int info = (tupleInfo(t, 0) & ~INDEX_SIZE_MASK) | newSize;
        if (n > 1) {
            putU16(t, T_INFO_OFFSET, info | INDEX_ALT_TID_MASK);
            PageBytes.putItemPointer(t, 0, keySize, n | BT_IS_POSTING);
            System.arraycopy(tids, 0, t, keySize, n * ITEM_POINTER_SIZE);
        } else {
            putU16(t, T_INFO_OFFSET, info & ~INDEX_ALT_TID_MASK);
            System.arraycopy(tids, 0, t, 0, ITEM_POINTER_SIZE);
        }
        return t;
    }
}
