package org.dbfs.pgformat.redo;

import static org.dbfs.pgformat.page.HeapTupleHeader.*;

import org.dbfs.pgformat.page.BtreePage;
import org.dbfs.pgformat.page.Page;
import org.dbfs.pgformat.page.PageBytes;
import org.dbfs.pgformat.page.PageCorruptException;

/**
 * PostgreSQL's consistency-check masks (access/common/bufmask.c, heap_mask, btree_mask, seq_mask):
 * applied to both pages before comparing them byte for byte. VM pages are masked only for pd_lsn
 * and pd_checksum ({@link #maskVisibilityMap}): heap_mask would wipe the whole bitmap.
 */
public final class Masking {
    private Masking() {
    }

    /** mask_page_lsn_and_checksum(). */
    public static void maskLsnAndChecksum(byte[] p) {
        PageBytes.putI64(p, 0, 0);
        PageBytes.putU16(p, Page.PD_CHECKSUM_OFFSET, 0);
    }

    /** mask_page_hint_bits(). */
    public static void maskHintBits(byte[] p) {
        Page.setPruneXid(p, 0);
        Page.clearFlag(p, Page.PD_PAGE_FULL | Page.PD_HAS_FREE_LINES | Page.PD_ALL_VISIBLE);
    }

    /** mask_unused_space(): zeroes [pd_lower, pd_upper). */
    public static void maskUnusedSpace(byte[] p) {
        int lower = Page.lower(p);
        int upper = Page.upper(p);
        int special = Page.special(p);
        if (lower > upper || special < upper || lower < Page.SIZE_OF_PAGE_HEADER || special > Page.BLCKSZ) {
            throw new PageCorruptException("invalid page pd_lower " + lower + " pd_upper " + upper
                    + " pd_special " + special);
        }
        java.util.Arrays.fill(p, lower, upper, (byte) 0);
    }

    /** mask_lp_flags(): every used line pointer's flags become LP_UNUSED. */
    public static void maskLpFlags(byte[] p) {
        for (int i = 1, n = Page.maxOffsetNumber(p); i <= n; i++) {
            int w = Page.itemId(p, i);
            if (Page.lpFlags(w) != Page.LP_UNUSED) {
                Page.setItemId(p, i, w & ~(3 << 15));
            }
        }
    }

    /** heap_mask() for heap block {@code blkno}. */
    public static void maskHeap(byte[] p, long blkno) {
        maskLsnAndChecksum(p);
        maskHintBits(p);
        maskUnusedSpace(p);
        for (int off = 1, n = Page.maxOffsetNumber(p); off <= n; off++) {
            int w = Page.itemId(p, off);
            int t = Page.lpOff(w);
            if (Page.lpFlags(w) == Page.LP_NORMAL) {
                int im = infomask(p, t);
                if ((im & HEAP_XMIN_FROZEN) != HEAP_XMIN_FROZEN) {
                    im &= ~HEAP_XACT_MASK;
                } else {
                    im &= ~(HEAP_XMAX_INVALID | HEAP_XMAX_COMMITTED);
                }
                setInfomask(p, t, im);
                setCidField(p, t, 0);
                if (PageBytes.itemPointerOffset(p, t + CTID_OFFSET) == SPEC_TOKEN_OFFSET_NUMBER) {
                    setCtid(p, t, blkno, off);
                }
            }
            int len = Page.lpLen(w);
            if (len != 0) {
                java.util.Arrays.fill(p, t + len, t + PageBytes.maxAlign(len), (byte) 0);
            }
        }
    }

    /** btree_mask(). */
    public static void maskBtree(byte[] p) {
        maskLsnAndChecksum(p);
        maskHintBits(p);
        maskUnusedSpace(p);
        if (BtreePage.isLeaf(p)) {
            maskLpFlags(p);
        }
        BtreePage.setFlags(p, BtreePage.flags(p) & ~(BtreePage.BTP_HAS_GARBAGE | BtreePage.BTP_SPLIT_END));
        BtreePage.setCycleId(p, 0);
    }

    /** seq_mask(). */
    public static void maskSequence(byte[] p) {
        maskLsnAndChecksum(p);
        maskUnusedSpace(p);
    }

    /** VM pages: only pd_lsn and pd_checksum; the bitmap must match exactly. */
    public static void maskVisibilityMap(byte[] p) {
        maskLsnAndChecksum(p);
    }

    /**
     * The mask the consistency check of resource manager {@code rmid} uses for a page of fork
     * {@code forkNum}; VM pages get {@link #maskVisibilityMap}. Returns false if the resource manager
     * has no mask (the page is then compared whole).
     */
    public static boolean mask(int rmid, int forkNum, long blkno, byte[] p) {
        if (forkNum == 2) {
            maskVisibilityMap(p);
            return true;
        }
        switch (rmid) {
            case HeapRedo.RM_HEAP, HeapRedo.RM_HEAP2 -> maskHeap(p, blkno);
            case BtreeRedo.RM_BTREE -> maskBtree(p);
            case RedoEngine.RM_SEQ -> maskSequence(p);
            default -> {
                return false;
            }
        }
        return true;
    }
}
