package org.dbfs.pgformat.redo;

import java.util.ArrayList;
import java.util.List;

import org.dbfs.pgformat.ForkNumber;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.page.Page;
import org.dbfs.pgformat.wal.DecodedRecord;

/**
 * The visibility map fork (access/heap/visibilitymap.c): two bits per heap block, 32672 heap blocks
 * per VM page, the map starting right after the page header.
 *
 * <p>Heap records change VM pages without referencing them: {@link #clearsOf} lists those implied
 * changes, which happen whatever the heap page's redo decision was, with no LSN check or update.
 */
public final class VisibilityMap {
    public static final int ALL_VISIBLE = 0x01;
    public static final int ALL_FROZEN = 0x02;
    public static final int VALID_BITS = 0x03;
    public static final int HEAPBLOCKS_PER_BYTE = 4;
    public static final int MAPSIZE = Page.BLCKSZ - Page.SIZE_OF_PAGE_HEADER;
    public static final int HEAPBLOCKS_PER_PAGE = MAPSIZE * HEAPBLOCKS_PER_BYTE;

    /** One implied VM change: clear {@code flags} of {@code heapBlock} in {@code rel}, the heap's VM fork. */
    public record Clear(RelTag rel, long heapBlock, int flags) {
        public long vmBlock() {
            return VisibilityMap.vmBlock(heapBlock);
        }
    }

    private VisibilityMap() {
    }

    public static long vmBlock(long heapBlock) {
        return heapBlock / HEAPBLOCKS_PER_PAGE;
    }

    private static int mapByte(long heapBlock) {
        return Page.SIZE_OF_PAGE_HEADER + (int) (heapBlock % HEAPBLOCKS_PER_PAGE) / HEAPBLOCKS_PER_BYTE;
    }

    private static int shift(long heapBlock) {
        return (int) (heapBlock % HEAPBLOCKS_PER_BYTE) * 2;
    }

    /** The two bits of {@code heapBlock} on its VM page. */
    public static int get(byte[] vm, long heapBlock) {
        return (vm[mapByte(heapBlock)] >> shift(heapBlock)) & VALID_BITS;
    }

    /** visibilitymap_clear() on the VM page holding {@code heapBlock}; no LSN change. */
    public static void clear(byte[] vm, long heapBlock, int flags) {
        int b = mapByte(heapBlock);
        vm[b] &= (byte) ~(flags << shift(heapBlock));
    }

    /**
     * visibilitymap_set() as redo runs it: OR the bits in and set pd_lsn, unless the bits are
     * already exactly {@code flags}.
     */
    static void set(byte[] vm, long heapBlock, int flags, long lsn) {
        if (get(vm, heapBlock) != flags) {
            int b = mapByte(heapBlock);
            vm[b] |= (byte) (flags << shift(heapBlock));
            Page.setLsn(vm, lsn);
        }
    }

    /**
     * VM truncation for a heap of {@code heapBlocks} blocks (SMGR TRUNCATE with the VM flag), applied to
     * the last VM page kept ({@code vmBlock(heapBlocks)}, when heapBlocks is not a page boundary).
     */
    public static void truncate(byte[] vm, long heapBlocks) {
        int b = mapByte(heapBlocks);
        int s = shift(heapBlocks);
        vm[b] &= (byte) ((1 << s) - 1);
        java.util.Arrays.fill(vm, b + 1, Page.BLCKSZ, (byte) 0);
    }

    /** Number of VM pages that remain when the heap is truncated to {@code heapBlocks}. */
    public static long pagesAfterTruncate(long heapBlocks) {
        return (heapBlocks + HEAPBLOCKS_PER_PAGE - 1) / HEAPBLOCKS_PER_PAGE;
    }

    /** The VM bit clears a HEAP or HEAP2 record implies (WAL-SPEC 3.6); empty for every other record. */
    public static List<Clear> clearsOf(DecodedRecord rec) {
        List<Clear> out = new ArrayList<>(2);
        int rmid = rec.rmid();
        int op = rec.info() & 0x70;
        if (rmid != HeapRedo.RM_HEAP && rmid != HeapRedo.RM_HEAP2 || !rec.hasBlockRef(0)) {
            return out;
        }
        byte[] d = rec.buffer();
        int m = rec.mainDataOffset();
        RelTag rel = rec.relTag(0).withFork(ForkNumber.VISIBILITYMAP_FORKNUM.forkNum());
        if (rmid == HeapRedo.RM_HEAP) {
            switch (op) {
                case HeapRedo.INSERT -> both(out, rel, rec.blockNumber(0), d[m + 2] & HeapRedo.INSERT_ALL_VISIBLE_CLEARED);
                case HeapRedo.DELETE -> both(out, rel, rec.blockNumber(0), d[m + 7] & 0x01);
                case HeapRedo.UPDATE, HeapRedo.HOT_UPDATE -> {
                    int flags = d[m + 7];
                    long newBlk = rec.blockNumber(0);
                    long oldBlk = rec.hasBlockRef(1) ? rec.blockNumber(1) : newBlk;
                    both(out, rel, oldBlk, flags & HeapRedo.UPDATE_OLD_ALL_VISIBLE_CLEARED);
                    both(out, rel, newBlk, flags & HeapRedo.UPDATE_NEW_ALL_VISIBLE_CLEARED);
                }
                case HeapRedo.LOCK -> frozen(out, rel, rec.blockNumber(0), d[m + 7] & 0x01);
                default -> {
                }
            }
        } else {
            switch (op) {
                case HeapRedo.MULTI_INSERT -> both(out, rel, rec.blockNumber(0), d[m] & HeapRedo.INSERT_ALL_VISIBLE_CLEARED);
                case HeapRedo.LOCK_UPDATED -> frozen(out, rel, rec.blockNumber(0), d[m + 7] & 0x01);
                default -> {
                }
            }
        }
        return out;
    }

    private static void both(List<Clear> out, RelTag rel, long blk, int flag) {
        if (flag != 0) {
            out.add(new Clear(rel, blk, VALID_BITS));
        }
    }

    private static void frozen(List<Clear> out, RelTag rel, long blk, int flag) {
        if (flag != 0) {
            out.add(new Clear(rel, blk, ALL_FROZEN));
        }
    }
}
