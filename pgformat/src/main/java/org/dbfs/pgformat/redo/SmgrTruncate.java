package org.dbfs.pgformat.redo;

import org.dbfs.pgformat.ForkNumber;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.page.PageBytes;
import org.dbfs.pgformat.wal.DecodedRecord;

/**
 * xl_smgr_truncate (catalog/storage_xlog.h): {@code u32 blkno, RelFileNode rnode, i32 flags}, and
 * what it does to pages: the main fork keeps {@code blkno} blocks, the VM fork keeps
 * {@link #vmBlocksKept()} pages with the last one cut by {@link VisibilityMap#truncate}, the FSM fork
 * is truncated (its pages are not WAL-logged; serve them as zero pages).
 */
public record SmgrTruncate(RelTag rel, long blkno, int flags) {
    public static final int RM_SMGR = 2;
    public static final int XLOG_SMGR_CREATE = 0x10;
    public static final int XLOG_SMGR_TRUNCATE = 0x20;
    public static final int TRUNCATE_HEAP = 0x1;
    public static final int TRUNCATE_VM = 0x2;
    public static final int TRUNCATE_FSM = 0x4;

    /** The truncation {@code rec} describes, or null if it is not an SMGR TRUNCATE record. */
    public static SmgrTruncate of(DecodedRecord rec) {
        if (rec.rmid() != RM_SMGR || (rec.info() & 0xF0) != XLOG_SMGR_TRUNCATE) {
            return null;
        }
        byte[] d = rec.buffer();
        int m = rec.mainDataOffset();
        // rnode has no fork (flags say which forks are cut): held as the RelTag of its main fork.
        RelTag rel = new RelTag(PageBytes.i32(d, m + 4), PageBytes.i32(d, m + 8), PageBytes.i32(d, m + 12),
                ForkNumber.MAIN_FORKNUM.forkNum());
        return new SmgrTruncate(rel, PageBytes.u32(d, m), PageBytes.i32(d, m + 16));
    }

    public boolean heap() {
        return (flags & TRUNCATE_HEAP) != 0;
    }

    public boolean vm() {
        return (flags & TRUNCATE_VM) != 0;
    }

    public boolean fsm() {
        return (flags & TRUNCATE_FSM) != 0;
    }

    /** VM pages left: ceil(blkno / HEAPBLOCKS_PER_PAGE). */
    public long vmBlocksKept() {
        return VisibilityMap.pagesAfterTruncate(blkno);
    }

    /** The VM page whose tail must be cleared with {@link VisibilityMap#truncate}, or -1 if the cut is on a page boundary. */
    public long vmPartialBlock() {
        return blkno % VisibilityMap.HEAPBLOCKS_PER_PAGE == 0 ? -1 : VisibilityMap.vmBlock(blkno);
    }
}
