package org.dbfs.pgformat.redo;

import static org.dbfs.pgformat.page.BtreePage.*;

import org.dbfs.pgformat.page.BtreePage;
import org.dbfs.pgformat.page.Page;
import org.dbfs.pgformat.page.PageBytes;

/** nbtxlog.c's btree_redo (PostgreSQL 15), one block at a time. */
final class BtreeRedo {
    static final int RM_BTREE = 11;
    static final int INSERT_LEAF = 0x00, INSERT_UPPER = 0x10, INSERT_META = 0x20, SPLIT_L = 0x30,
            SPLIT_R = 0x40, INSERT_POST = 0x50, DEDUP = 0x60, DELETE = 0x70, UNLINK_PAGE = 0x80,
            UNLINK_PAGE_META = 0x90, NEWROOT = 0xA0, MARK_PAGE_HALFDEAD = 0xB0, VACUUM = 0xC0,
            REUSE_PAGE = 0xD0, META_CLEANUP = 0xE0;

    private BtreeRedo() {
    }

    static boolean redo(Redo r) {
        switch (r.rec.info() & 0xF0) {
            case INSERT_LEAF -> insert(r, true, false, false);
            case INSERT_UPPER -> insert(r, false, false, false);
            case INSERT_META -> insert(r, false, true, false);
            case INSERT_POST -> insert(r, true, false, true);
            case SPLIT_L -> split(r, true);
            case SPLIT_R -> split(r, false);
            case DEDUP -> dedup(r);
            case VACUUM -> delete(r, 4);
            case DELETE -> delete(r, 8);
            case MARK_PAGE_HALFDEAD -> halfDead(r);
            case UNLINK_PAGE -> unlink(r, false);
            case UNLINK_PAGE_META -> unlink(r, true);
            case NEWROOT -> newRoot(r);
            case META_CLEANUP -> restoreMeta(r, 0);
            default -> {
                return false; // REUSE_PAGE: no page change
            }
        }
        return true;
    }

    /** _bt_restore_meta(). */
    private static void restoreMeta(Redo r, int id) {
        if (r.blockId != id || !r.init(id)) {
            return;
        }
        byte[] p = r.page;
        int md = r.data(id);
        BtreePage.init(p);
        int m = META_OFFSET;
        PageBytes.putI32(p, m, BTREE_MAGIC);
        System.arraycopy(r.d, md, p, m + 4, 24); // version, root, level, fastroot, fastlevel, last_cleanup_num_delpages
        PageBytes.putI64(p, m + 32, Double.doubleToRawLongBits(-1.0));
        p[m + 40] = r.d[md + 24];
        BtreePage.setFlags(p, BTP_META);
        Page.setLower(p, META_PD_LOWER);
        r.setLsn();
    }

    /** _bt_clear_incomplete_split(). */
    private static void clearIncompleteSplit(Redo r, int id) {
        if (r.blockId == id && r.read(id)) {
            BtreePage.setFlags(r.page, BtreePage.flags(r.page) & ~BTP_INCOMPLETE_SPLIT);
            r.setLsn();
        }
    }

    /**
     * _bt_swap_posting(): returns nposting (a copy of the posting tuple at {@code opost} with the new
     * item's TID inserted at {@code postingOff} and the last TID dropped) and gives {@code newItem}
     * the old maximum TID.
     */
    private static byte[] swapPosting(byte[] newItem, byte[] p, int opost, int postingOff) {
        int n = postingCount(p, opost);
        int size = tupleSize(p, opost);
        byte[] np = new byte[size];
        System.arraycopy(p, opost, np, 0, size);
        int list = postingOffset(np, 0);
        int at = list + postingOff * ITEM_POINTER_SIZE;
        System.arraycopy(np, at, np, at + ITEM_POINTER_SIZE, (n - postingOff - 1) * ITEM_POINTER_SIZE);
        System.arraycopy(newItem, 0, np, at, ITEM_POINTER_SIZE);
        System.arraycopy(p, opost + list + (n - 1) * ITEM_POINTER_SIZE, newItem, 0, ITEM_POINTER_SIZE);
        return np;
    }

    private static void insert(Redo r, boolean leaf, boolean meta, boolean posting) {
        if (!leaf) {
            clearIncompleteSplit(r, 1);
        }
        if (r.blockId == 0 && r.read(0)) {
            byte[] p = r.page;
            int offnum = r.mainU16(0);
            int pos = r.data(0);
            int len = r.dataLen(0);
            if (!posting) {
                Page.addItem(p, r.d, pos, len, offnum, 0);
            } else {
                int postingOff = PageBytes.u16(r.d, pos);
                byte[] newItem = new byte[len - 2];
                System.arraycopy(r.d, pos + 2, newItem, 0, len - 2);
                int opost = Page.itemOff(p, offnum - 1);
                byte[] np = swapPosting(newItem, p, opost, postingOff);
                System.arraycopy(np, 0, p, opost, PageBytes.maxAlign(np.length));
                Page.addItem(p, newItem, 0, PageBytes.maxAlign(tupleSize(newItem, 0)), offnum, 0);
            }
            r.setLsn();
        }
        if (meta) {
            restoreMeta(r, 2);
        }
    }

    /** _bt_restore_page(): items in the logged order are added in reverse, item i at offnum n - i. */
    private static void restorePage(byte[] p, byte[] d, int from, int len) {
        int end = from + len;
        int[] starts = new int[Page.MAX_INDEX_TUPLES_PER_PAGE + 1];
        int[] sizes = new int[starts.length];
        int n = 0;
        while (from < end) {
            int size = PageBytes.maxAlign(tupleSize(d, from));
            starts[n] = from;
            sizes[n] = size;
            n++;
            from += size;
        }
        for (int i = n - 1; i >= 0; i--) {
            Page.addItem(p, d, starts[i], sizes[i], n - i, 0);
        }
    }

    /** PageGetTempPageCopySpecial(): an initialized page with the same special area. */
    private static byte[] tempPageCopySpecial(byte[] p) {
        byte[] t = new byte[Page.BLCKSZ];
        int special = Page.special(p);
        Page.init(t, Page.BLCKSZ - special);
        System.arraycopy(p, special, t, special, Page.BLCKSZ - special);
        return t;
    }

    private static int append(byte[] p, byte[] item, int off, int size) {
        return Page.addItem(p, item, off, size, Page.maxOffsetNumber(p) + 1, 0);
    }

    private static void split(Redo r, boolean newItemOnLeft) {
        long level = r.mainU32(0);
        int firstRightOff = r.mainU16(4);
        int newItemOff = r.mainU16(6);
        int postingOff = r.mainU16(8);
        boolean leaf = level == 0;
        long origBlk = r.blockNumber(0);
        long rightBlk = r.blockNumber(1);
        long siblingBlk = r.rec.hasBlockRef(2) ? r.blockNumber(2) : P_NONE;
        if (!leaf) {
            clearIncompleteSplit(r, 3);
        }
        if (r.blockId == 1 && r.init(1)) {
            byte[] p = r.page;
            BtreePage.init(p);
            BtreePage.setOpaque(p, origBlk, siblingBlk, level, leaf ? BTP_LEAF : 0);
            restorePage(p, r.d, r.data(1), r.dataLen(1));
            r.setLsn();
        }
        if (r.blockId == 0 && r.read(0)) {
            byte[] orig = r.page;
            int pos = r.data(0);
            byte[] newItem = null;
            int newItemSize = 0;
            byte[] nposting = null;
            int replacePostingOff = 0;
            if (newItemOnLeft || postingOff != 0) {
                newItemSize = PageBytes.maxAlign(tupleSize(r.d, pos));
                newItem = new byte[newItemSize];
                System.arraycopy(r.d, pos, newItem, 0, newItemSize);
                pos += newItemSize;
                if (postingOff != 0) {
                    replacePostingOff = newItemOff - 1;
                    nposting = swapPosting(newItem, orig, Page.itemOff(orig, replacePostingOff), postingOff);
                }
            }
            int hikeySize = PageBytes.maxAlign(tupleSize(r.d, pos));
            byte[] left = tempPageCopySpecial(orig);
            Page.addItem(left, r.d, pos, hikeySize, P_HIKEY, 0);
            int off;
            for (off = BtreePage.firstDataKey(orig); off < firstRightOff; off++) {
                if (off == replacePostingOff) {
                    append(left, nposting, 0, PageBytes.maxAlign(tupleSize(nposting, 0)));
                    continue;
                } else if (newItemOnLeft && off == newItemOff) {
                    append(left, newItem, 0, newItemSize);
                }
                append(left, orig, Page.itemOff(orig, off), Page.itemLen(orig, off));
            }
            if (newItemOnLeft && off == newItemOff) {
                append(left, newItem, 0, newItemSize);
            }
            System.arraycopy(left, 0, orig, 0, Page.BLCKSZ);
            BtreePage.setFlags(orig, BTP_INCOMPLETE_SPLIT | (leaf ? BTP_LEAF : 0));
            BtreePage.setNext(orig, rightBlk);
            BtreePage.setCycleId(orig, 0);
            r.setLsn();
        }
        if (siblingBlk != P_NONE && r.blockId == 2 && r.read(2)) {
            BtreePage.setPrev(r.page, rightBlk);
            r.setLsn();
        }
    }

    private static void dedup(Redo r) {
        if (!r.read(0)) {
            return;
        }
        byte[] p = r.page;
        int nintervals = r.mainU16(0);
        int iv = r.data(0);
        int minoff = BtreePage.firstDataKey(p);
        int maxoff = Page.maxOffsetNumber(p);
        byte[] np = tempPageCopySpecial(p);
        if (BtreePage.next(p) != P_NONE) {
            Page.addItem(np, p, Page.itemOff(p, P_HIKEY), Page.itemLen(p, P_HIKEY), P_HIKEY, 0);
        }
        DedupState st = new DedupState(p, np);
        for (int off = minoff; off <= maxoff; off++) {
            int t = Page.itemOff(p, off);
            if (off == minoff) {
                st.start(t, off);
            } else if (st.nintervals < nintervals
                    && st.baseOff == PageBytes.u16(r.d, iv + 4 * st.nintervals)
                    && st.nitems < PageBytes.u16(r.d, iv + 4 * st.nintervals + 2)) {
                st.save(t);
            } else {
                st.finish();
                st.start(t, off);
            }
        }
        st.finish();
        if (st.nintervals != nintervals) {
            throw new RedoException("dedup produced " + st.nintervals + " intervals, WAL has " + nintervals
                    + " in " + r.what());
        }
        BtreePage.setFlags(np, BtreePage.flags(np) & ~BTP_HAS_GARBAGE);
        System.arraycopy(np, 0, p, 0, Page.BLCKSZ);
        r.setLsn();
    }

    /** BTDedupState as far as redo needs it (nbtdedup.c). */
    private static final class DedupState {
        final byte[] src;
        final byte[] dst;
        final byte[] tids = new byte[Page.BLCKSZ];
        int base;
        int baseOff;
        int baseTupSize;
        int nhtids;
        int nitems;
        int nintervals;

        DedupState(byte[] src, byte[] dst) {
            this.src = src;
            this.dst = dst;
        }

        void start(int t, int off) {
            base = t;
            baseOff = off;
            nhtids = 0;
            nitems = 0;
            baseTupSize = isPosting(src, t) ? postingOffset(src, t) : tupleSize(src, t);
            save(t);
        }

        void save(int t) {
            if (isPosting(src, t)) {
                int n = postingCount(src, t);
                System.arraycopy(src, t + postingOffset(src, t), tids, nhtids * ITEM_POINTER_SIZE, n * ITEM_POINTER_SIZE);
                nhtids += n;
            } else {
                System.arraycopy(src, t, tids, nhtids * ITEM_POINTER_SIZE, ITEM_POINTER_SIZE);
                nhtids++;
            }
            nitems++;
        }

        void finish() {
            if (nitems == 1) {
                append(dst, src, base, tupleSize(src, base));
            } else {
                byte[] post = formPosting(src, base, baseTupSize, tids, nhtids);
                append(dst, post, 0, post.length);
                nintervals++;
            }
        }
    }

    private static void delete(Redo r, int headerLen) {
        if (!r.read(0)) {
            return;
        }
        byte[] p = r.page;
        int ndeleted = r.mainU16(headerLen - 4);
        int nupdated = r.mainU16(headerLen - 2);
        int pos = r.data(0);
        int updatedOffsets = pos + 2 * ndeleted;
        int upd = updatedOffsets + 2 * nupdated;
        byte[] tids = new byte[Page.BLCKSZ];
        for (int i = 0; i < nupdated; i++) {
            int off = PageBytes.u16(r.d, updatedOffsets + 2 * i);
            int t = Page.itemOff(p, off);
            int ndel = PageBytes.u16(r.d, upd);
            int n = postingCount(p, t);
            int keySize = postingOffset(p, t);
            int kept = 0;
            int di = 0;
            for (int k = 0; k < n; k++) {
                if (di < ndel && PageBytes.u16(r.d, upd + 2 + 2 * di) == k) {
                    di++;
                    continue;
                }
                System.arraycopy(p, t + keySize + k * ITEM_POINTER_SIZE, tids, kept * ITEM_POINTER_SIZE, ITEM_POINTER_SIZE);
                kept++;
            }
            byte[] nt = formPosting(p, t, keySize, tids, kept);
            Page.indexTupleOverwrite(p, off, nt, 0, PageBytes.maxAlign(nt.length));
            upd += 2 + 2 * ndel;
        }
        if (ndeleted > 0) {
            int[] offs = new int[ndeleted];
            for (int i = 0; i < ndeleted; i++) {
                offs[i] = PageBytes.u16(r.d, pos + 2 * i);
            }
            Page.indexMultiDelete(p, offs, ndeleted);
        }
        BtreePage.setFlags(p, BtreePage.flags(p) & ~BTP_HAS_GARBAGE);
        r.setLsn();
    }

    /** A half-dead leaf: init, opaque, and the dummy high key pointing at the subtree's top parent. */
    private static void writeHalfDeadLeaf(Redo r, long prev, long next, long topParent) {
        byte[] p = r.page;
        BtreePage.init(p);
        BtreePage.setOpaque(p, prev, next, 0, BTP_HALF_DEAD | BTP_LEAF);
        byte[] hikey = new byte[INDEX_TUPLE_HEADER_SIZE];
        PageBytes.putItemPointer(hikey, 0, topParent, 0);
        PageBytes.putU16(hikey, T_INFO_OFFSET, INDEX_TUPLE_HEADER_SIZE | INDEX_ALT_TID_MASK);
        Page.addItem(p, hikey, 0, INDEX_TUPLE_HEADER_SIZE, P_HIKEY, 0);
        r.setLsn();
    }

    private static void halfDead(Redo r) {
        int poffset = r.mainU16(0);
        if (r.blockId == 1 && r.read(1)) {
            byte[] p = r.page;
            long rightsib = PageBytes.itemPointerBlock(p, Page.itemOff(p, poffset + 1));
            PageBytes.putItemPointerBlock(p, Page.itemOff(p, poffset), rightsib);
            Page.indexTupleDelete(p, poffset + 1);
            r.setLsn();
        }
        if (r.blockId == 0 && r.init(0)) {
            writeHalfDeadLeaf(r, r.mainU32(8), r.mainU32(12), r.mainU32(16));
        }
    }

    private static void unlink(Redo r, boolean meta) {
        long leftsib = r.mainU32(0);
        long rightsib = r.mainU32(4);
        long level = r.mainU32(8);
        long safexid = PageBytes.i64(r.d, r.main() + 16);
        if (leftsib != P_NONE && r.blockId == 1 && r.read(1)) {
            BtreePage.setNext(r.page, rightsib);
            r.setLsn();
        }
        if (r.blockId == 0 && r.init(0)) {
            byte[] p = r.page;
            BtreePage.init(p);
            int flags = BTP_DELETED | BTP_HAS_FULLXID | (level == 0 ? BTP_LEAF : 0);
            BtreePage.setOpaque(p, leftsib, rightsib, level, flags);
            Page.setLower(p, Page.SIZE_OF_PAGE_HEADER + 8);
            Page.setUpper(p, Page.special(p));
            PageBytes.putI64(p, Page.SIZE_OF_PAGE_HEADER, safexid);
            r.setLsn();
        }
        if (r.blockId == 2 && r.read(2)) {
            BtreePage.setPrev(r.page, leftsib);
            r.setLsn();
        }
        if (r.blockId == 3 && r.init(3)) {
            writeHalfDeadLeaf(r, r.mainU32(24), r.mainU32(28), r.mainU32(32));
        }
        if (meta) {
            restoreMeta(r, 4);
        }
    }

    private static void newRoot(Redo r) {
        long level = r.mainU32(4);
        if (r.blockId == 0 && r.init(0)) {
            byte[] p = r.page;
            BtreePage.init(p);
            BtreePage.setOpaque(p, P_NONE, P_NONE, level, BTP_ROOT | (level == 0 ? BTP_LEAF : 0));
            if (level > 0) {
                restorePage(p, r.d, r.data(0), r.dataLen(0));
            }
            r.setLsn();
        }
        if (level > 0) {
            clearIncompleteSplit(r, 1);
        }
        restoreMeta(r, 2);
    }
}
