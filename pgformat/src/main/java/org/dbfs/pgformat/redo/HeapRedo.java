package org.dbfs.pgformat.redo;

import static org.dbfs.pgformat.page.HeapTupleHeader.*;

import org.dbfs.pgformat.page.Page;
import org.dbfs.pgformat.page.PageBytes;

/** heapam.c's heap_redo and heap2_redo (PostgreSQL 15 record formats), one block at a time. */
final class HeapRedo {
    static final int RM_HEAP2 = 9;
    static final int RM_HEAP = 10;
    static final int INIT_PAGE = 0x80;

    // HEAP opcodes
    static final int INSERT = 0x00, DELETE = 0x10, UPDATE = 0x20, TRUNCATE = 0x30, HOT_UPDATE = 0x40,
            CONFIRM = 0x50, LOCK = 0x60, INPLACE = 0x70;
    // HEAP2 opcodes
    static final int REWRITE = 0x00, PRUNE = 0x10, VACUUM = 0x20, FREEZE_PAGE = 0x30, VISIBLE = 0x40,
            MULTI_INSERT = 0x50, LOCK_UPDATED = 0x60, NEW_CID = 0x70;

    static final int INSERT_ALL_VISIBLE_CLEARED = 0x01;
    static final int INSERT_ALL_FROZEN_SET = 0x20;
    static final int DELETE_IS_SUPER = 0x08;
    static final int DELETE_IS_PARTITION_MOVE = 0x10;
    static final int UPDATE_OLD_ALL_VISIBLE_CLEARED = 0x01;
    static final int UPDATE_NEW_ALL_VISIBLE_CLEARED = 0x02;
    static final int UPDATE_PREFIX_FROM_OLD = 0x20;
    static final int UPDATE_SUFFIX_FROM_OLD = 0x40;
    static final int FREEZE_XVAC = 0x02;
    static final int INVALID_XVAC = 0x04;
    static final long FIRST_COMMAND_ID = 0;

    private static final int HEAP_FLAGS = Page.PAI_OVERWRITE | Page.PAI_IS_HEAP;

    private HeapRedo() {
    }

    static boolean heap(Redo r) {
        int info = r.rec.info();
        switch (info & 0x70) {
            case INSERT -> insert(r, (info & INIT_PAGE) != 0);
            case DELETE -> delete(r);
            case UPDATE -> update(r, false, (info & INIT_PAGE) != 0);
            case HOT_UPDATE -> update(r, true, (info & INIT_PAGE) != 0);
            case LOCK -> lock(r, false);
            case INPLACE -> inplace(r);
            case CONFIRM -> confirm(r);
            default -> {
                return false; // TRUNCATE: logical decoding only, no block references
            }
        }
        return true;
    }

    static boolean heap2(Redo r) {
        int info = r.rec.info();
        switch (info & 0x70) {
            case PRUNE -> prune(r);
            case VACUUM -> vacuum(r);
            case FREEZE_PAGE -> freeze(r);
            case VISIBLE -> visible(r);
            case MULTI_INSERT -> multiInsert(r, (info & INIT_PAGE) != 0);
            case LOCK_UPDATED -> lock(r, true);
            default -> {
                return false; // REWRITE, NEW_CID: no page effect
            }
        }
        return true;
    }

    /** Reads block 0 as a heap page, or initializes it when the record carries XLOG_HEAP_INIT_PAGE. */
    private static boolean readOrInit(Redo r, int id, boolean init) {
        if (init) {
            if (r.init(id)) {
                Page.init(r.page, 0);
                return true;
            }
            return false;
        }
        return r.read(id);
    }

    /** Builds a heap tuple (23-byte header + body) and adds it at offnum with OVERWRITE|IS_HEAP. */
    private static void addTuple(Redo r, byte[] tup, int len, int infomask2, int infomask, int hoff, long xmax,
            long blk, int offnum) {
        PageBytes.putU16(tup, INFOMASK2_OFFSET, infomask2);
        PageBytes.putU16(tup, INFOMASK_OFFSET, infomask);
        tup[HOFF_OFFSET] = (byte) hoff;
        setXmin(tup, 0, r.rec.xid());
        setXmax(tup, 0, xmax);
        setCid(tup, 0, FIRST_COMMAND_ID);
        setCtid(tup, 0, blk, offnum);
        if (Page.maxOffsetNumber(r.page) + 1 < offnum) {
            throw new RedoException("invalid max offset number " + offnum + " in " + r.what());
        }
        Page.addItem(r.page, tup, 0, len, offnum, HEAP_FLAGS);
    }

    private static void insert(Redo r, boolean init) {
        int offnum = r.mainU16(0);
        int flags = r.mainU8(2);
        if (!readOrInit(r, 0, init)) {
            return;
        }
        int data = r.data(0);
        int bodyLen = r.dataLen(0) - 5;
        byte[] tup = new byte[SIZE + bodyLen];
        System.arraycopy(r.d, data + 5, tup, SIZE, bodyLen);
        addTuple(r, tup, tup.length, PageBytes.u16(r.d, data), PageBytes.u16(r.d, data + 2), r.d[data + 4] & 0xFF,
                0, r.blockNumber(0), offnum);
        r.setLsn();
        allVisibleFlags(r, flags);
    }

    private static void allVisibleFlags(Redo r, int flags) {
        if ((flags & INSERT_ALL_VISIBLE_CLEARED) != 0) {
            Page.clearFlag(r.page, Page.PD_ALL_VISIBLE);
        }
        if ((flags & INSERT_ALL_FROZEN_SET) != 0) {
            Page.setFlag(r.page, Page.PD_ALL_VISIBLE);
        }
    }

    /** The start of DELETE, UPDATE(old), LOCK and LOCK_UPDATED: drop xmax bits, apply the logged infobits. */
    private static void resetXmax(byte[] p, int t, int infobits) {
        int im = infomask(p, t) & ~(HEAP_XMAX_BITS | HEAP_MOVED);
        int im2 = infomask2(p, t) & ~HEAP_KEYS_UPDATED;
        // fix_infomask_from_infobits
        im &= ~(HEAP_XMAX_IS_MULTI | HEAP_XMAX_LOCK_ONLY | HEAP_XMAX_EXCL_LOCK | HEAP_XMAX_KEYSHR_LOCK);
        if ((infobits & 0x01) != 0) {
            im |= HEAP_XMAX_IS_MULTI;
        }
        if ((infobits & 0x02) != 0) {
            im |= HEAP_XMAX_LOCK_ONLY;
        }
        if ((infobits & 0x04) != 0) {
            im |= HEAP_XMAX_EXCL_LOCK;
        }
        if ((infobits & 0x08) != 0) {
            im |= HEAP_XMAX_KEYSHR_LOCK;
        }
        if ((infobits & 0x10) != 0) {
            im2 |= HEAP_KEYS_UPDATED;
        }
        setInfomask(p, t, im);
        setInfomask2(p, t, im2);
    }

    private static void delete(Redo r) {
        long xmax = r.mainU32(0);
        int offnum = r.mainU16(4);
        int infobits = r.mainU8(6);
        int flags = r.mainU8(7);
        if (!r.read(0)) {
            return;
        }
        byte[] p = r.page;
        int t = r.normalItem(offnum);
        resetXmax(p, t, infobits);
        setInfomask2(p, t, infomask2(p, t) & ~HEAP_HOT_UPDATED);
        if ((flags & DELETE_IS_SUPER) == 0) {
            setXmax(p, t, xmax);
        } else {
            setXmin(p, t, 0);
        }
        setCid(p, t, FIRST_COMMAND_ID);
        Page.setPrunable(p, r.rec.xid());
        if ((flags & INSERT_ALL_VISIBLE_CLEARED) != 0) {
            Page.clearFlag(p, Page.PD_ALL_VISIBLE);
        }
        if ((flags & DELETE_IS_PARTITION_MOVE) != 0) {
            setCtid(p, t, MOVED_PARTITIONS_BLOCK, MOVED_PARTITIONS_OFFSET);
        } else {
            setCtid(p, t, r.blockNumber(0), offnum);
        }
        r.setLsn();
    }

    private static void update(Redo r, boolean hot, boolean init) {
        long oldXmax = r.mainU32(0);
        int oldOffnum = r.mainU16(4);
        int oldInfobits = r.mainU8(6);
        int flags = r.mainU8(7);
        long newXmax = r.mainU32(8);
        int newOffnum = r.mainU16(12);
        long newBlk = r.blockNumber(0);
        boolean samePage = !r.rec.hasBlockRef(1);
        int oldTuple = -1;
        int oldLen = 0;
        boolean newNeedsRedo;
        if (r.blockId == 1 || samePage) {
            boolean oldNeedsRedo = r.read(samePage ? 0 : 1);
            if (oldNeedsRedo) {
                byte[] p = r.page;
                int t = r.normalItem(oldOffnum);
                oldTuple = t;
                oldLen = Page.itemLen(p, oldOffnum);
                resetXmax(p, t, oldInfobits);
                int im2 = infomask2(p, t);
                setInfomask2(p, t, hot ? im2 | HEAP_HOT_UPDATED : im2 & ~HEAP_HOT_UPDATED);
                setXmax(p, t, oldXmax);
                setCid(p, t, FIRST_COMMAND_ID);
                setCtid(p, t, newBlk, newOffnum);
                Page.setPrunable(p, r.rec.xid());
                if ((flags & UPDATE_OLD_ALL_VISIBLE_CLEARED) != 0) {
                    Page.clearFlag(p, Page.PD_ALL_VISIBLE);
                }
                r.setLsn();
            }
            if (!samePage) {
                return;
            }
            newNeedsRedo = oldNeedsRedo;
        } else {
            newNeedsRedo = readOrInit(r, 0, init);
        }
        if (!newNeedsRedo) {
            return;
        }
        byte[] p = r.page;
        if (Page.maxOffsetNumber(p) + 1 < newOffnum) {
            throw new RedoException("invalid max offset number " + newOffnum + " in " + r.what());
        }
        int pos = r.data(0);
        int end = pos + r.dataLen(0);
        int prefixLen = 0;
        int suffixLen = 0;
        if ((flags & UPDATE_PREFIX_FROM_OLD) != 0) {
            prefixLen = PageBytes.u16(r.d, pos);
            pos += 2;
        }
        if ((flags & UPDATE_SUFFIX_FROM_OLD) != 0) {
            suffixLen = PageBytes.u16(r.d, pos);
            pos += 2;
        }
        if ((prefixLen > 0 || suffixLen > 0) && oldTuple < 0) {
            throw new RedoException("prefix/suffix compression without the old tuple on the page in " + r.what());
        }
        int infomask2 = PageBytes.u16(r.d, pos);
        int infomask = PageBytes.u16(r.d, pos + 2);
        int hoff = r.d[pos + 4] & 0xFF;
        pos += 5;
        int tupLen = end - pos;
        int newLen = SIZE + tupLen + prefixLen + suffixLen;
        byte[] tup = new byte[newLen];
        int np = SIZE;
        if (prefixLen > 0) {
            int bitmapLen = hoff - SIZE;
            System.arraycopy(r.d, pos, tup, np, bitmapLen);
            np += bitmapLen;
            System.arraycopy(p, oldTuple + hoff(p, oldTuple), tup, np, prefixLen);
            np += prefixLen;
            System.arraycopy(r.d, pos + bitmapLen, tup, np, tupLen - bitmapLen);
            np += tupLen - bitmapLen;
        } else {
            System.arraycopy(r.d, pos, tup, np, tupLen);
            np += tupLen;
        }
        if (suffixLen > 0) {
            System.arraycopy(p, oldTuple + oldLen - suffixLen, tup, np, suffixLen);
        }
        addTuple(r, tup, newLen, infomask2, infomask, hoff, newXmax, newBlk, newOffnum);
        if ((flags & UPDATE_NEW_ALL_VISIBLE_CLEARED) != 0) {
            Page.clearFlag(p, Page.PD_ALL_VISIBLE);
        }
        r.setLsn();
    }

    /** HEAP LOCK (cid and ctid handling) and HEAP2 LOCK_UPDATED (neither). Same main-data prefix. */
    private static void lock(Redo r, boolean updated) {
        long xmax = r.mainU32(0);
        int offnum = r.mainU16(4);
        int infobits = r.mainU8(6);
        if (!r.read(0)) {
            return;
        }
        byte[] p = r.page;
        int t = r.normalItem(offnum);
        resetXmax(p, t, infobits);
        if (!updated) {
            if (xmaxIsLockedOnly(infomask(p, t))) {
                setInfomask2(p, t, infomask2(p, t) & ~HEAP_HOT_UPDATED);
                setCtid(p, t, r.blockNumber(0), offnum);
            }
        }
        setXmax(p, t, xmax);
        if (!updated) {
            setCid(p, t, FIRST_COMMAND_ID);
        }
        r.setLsn();
    }

    private static void inplace(Redo r) {
        int offnum = r.mainU16(0);
        if (!r.read(0)) {
            return;
        }
        byte[] p = r.page;
        int t = r.normalItem(offnum);
        int hoff = hoff(p, t);
        int oldLen = Page.itemLen(p, offnum) - hoff;
        int newLen = r.dataLen(0);
        if (oldLen != newLen) {
            throw new RedoException("wrong tuple length " + newLen + " (expected " + oldLen + ") in " + r.what());
        }
        System.arraycopy(r.d, r.data(0), p, t + hoff, newLen);
        r.setLsn();
    }

    private static void confirm(Redo r) {
        int offnum = r.mainU16(0);
        if (!r.read(0)) {
            return;
        }
        int t = r.normalItem(offnum);
        setCtid(r.page, t, r.blockNumber(0), offnum);
        r.setLsn();
    }

    private static void prune(Redo r) {
        int nredirected = r.mainU16(4);
        int ndead = r.mainU16(6);
        if (!r.read(0)) {
            return;
        }
        byte[] p = r.page;
        int pos = r.data(0);
        int n = r.dataLen(0) / 2;
        int nunused = n - 2 * nredirected - ndead;
        if (nunused < 0) {
            throw new RedoException("prune offsets do not fit the block data in " + r.what());
        }
        for (int i = 0; i < nredirected; i++, pos += 4) {
            int from = PageBytes.u16(r.d, pos);
            int to = PageBytes.u16(r.d, pos + 2);
            Page.setItemId(p, from, Page.makeItemId(to, Page.LP_REDIRECT, 0));
        }
        for (int i = 0; i < ndead; i++, pos += 2) {
            Page.setItemId(p, PageBytes.u16(r.d, pos), Page.makeItemId(0, Page.LP_DEAD, 0));
        }
        for (int i = 0; i < nunused; i++, pos += 2) {
            Page.setItemId(p, PageBytes.u16(r.d, pos), 0);
        }
        Page.repairFragmentation(p);
        r.setLsn();
    }

    private static void vacuum(Redo r) {
        int nunused = r.mainU16(0);
        if (!r.read(0)) {
            return;
        }
        byte[] p = r.page;
        int pos = r.data(0);
        for (int i = 0; i < nunused; i++, pos += 2) {
            int off = PageBytes.u16(r.d, pos);
            int w = Page.itemId(p, off);
            if (Page.lpFlags(w) != Page.LP_DEAD || Page.lpLen(w) != 0) {
                throw new RedoException("line pointer " + off + " is not dead without storage in " + r.what());
            }
            Page.setItemId(p, off, 0);
        }
        Page.truncateLinePointerArray(p);
        r.setLsn();
    }

    private static void freeze(Redo r) {
        int ntuples = r.mainU16(4);
        if (!r.read(0)) {
            return;
        }
        byte[] p = r.page;
        int pos = r.data(0);
        for (int i = 0; i < ntuples; i++, pos += 12) {
            int offnum = PageBytes.u16(r.d, pos + 4);
            int t = Page.itemOff(p, offnum);
            setXmax(p, t, PageBytes.u32(r.d, pos));
            int frz = r.d[pos + 10] & 0xFF;
            if ((frz & FREEZE_XVAC) != 0) {
                setCidField(p, t, 2);
            }
            if ((frz & INVALID_XVAC) != 0) {
                setCidField(p, t, 0);
            }
            setInfomask(p, t, PageBytes.u16(r.d, pos + 8));
            setInfomask2(p, t, PageBytes.u16(r.d, pos + 6));
        }
        r.setLsn();
    }

    private static void visible(Redo r) {
        int flags = r.mainU8(4);
        if (r.blockId == 1) {
            if (r.read(1)) {
                Page.setFlag(r.page, Page.PD_ALL_VISIBLE);
                if (r.hintBitsLogged) {
                    r.setLsn();
                }
            }
            return;
        }
        if (r.readZeroOnError(0)) {
            byte[] vm = r.page;
            if (Page.isNew(vm)) {
                Page.init(vm, 0);
            }
            VisibilityMap.set(vm, r.blockNumber(1), flags & VisibilityMap.VALID_BITS, r.end);
        }
    }

    private static void multiInsert(Redo r, boolean init) {
        int flags = r.mainU8(0);
        int ntuples = r.mainU16(2);
        if (!readOrInit(r, 0, init)) {
            return;
        }
        long blk = r.blockNumber(0);
        int base = r.data(0);
        int pos = base;
        int end = base + r.dataLen(0);
        for (int i = 0; i < ntuples; i++) {
            int offnum = init ? i + 1 : r.mainU16(4 + 2 * i);
            pos = base + ((pos - base + 1) & ~1);
            int dataLen = PageBytes.u16(r.d, pos);
            int infomask2 = PageBytes.u16(r.d, pos + 2);
            int infomask = PageBytes.u16(r.d, pos + 4);
            int hoff = r.d[pos + 6] & 0xFF;
            pos += 7;
            byte[] tup = new byte[SIZE + dataLen];
            System.arraycopy(r.d, pos, tup, SIZE, dataLen);
            pos += dataLen;
            addTuple(r, tup, tup.length, infomask2, infomask, hoff, 0, blk, offnum);
        }
        if (pos != end) {
            throw new RedoException("total tuple length mismatch in " + r.what());
        }
        r.setLsn();
        allVisibleFlags(r, flags);
    }
}
