package org.dbfs.pgformat.redo;

import org.dbfs.pgformat.page.Page;
import org.dbfs.pgformat.page.PageBytes;
import org.dbfs.pgformat.wal.BlockImages;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.Lsn;

/**
 * One record applied to one block: the record, the block id being rebuilt, the page, and
 * XLogReadBufferForRedo / XLogInitBufferForRedo for it. Routines call {@link #read} or {@link #init}
 * only for the block id they rebuild, so every other block reference of the record is left alone.
 */
final class Redo {
    final DecodedRecord rec;
    final int blockId;
    final byte[] page;
    final byte[] d;
    final long end;
    private final byte[] scratch;
    BlockAction action;
    /** Data checksums or wal_log_hints: HEAP2_VISIBLE then sets the heap page's LSN (15.2+). */
    final boolean hintBitsLogged;

    Redo(DecodedRecord rec, int blockId, byte[] page, byte[] scratch, boolean hintBitsLogged) {
        this.hintBitsLogged = hintBitsLogged;
        this.rec = rec;
        this.blockId = blockId;
        this.page = page;
        this.d = rec.buffer();
        this.end = rec.endLsn();
        this.scratch = scratch;
    }

    /** XLogReadBufferForRedo(record, id): true iff the routine must now change the page (BLK_NEEDS_REDO). */
    boolean read(int id) {
        return decide(id, false);
    }

    /** XLogInitBufferForRedo(record, id): the page is zeroed for the routine to PageInit (or restored). */
    boolean init(int id) {
        return decide(id, true);
    }

    private boolean decide(int id, boolean zero) {
        if (id != blockId) {
            throw new IllegalStateException("routine touched block " + id + " while rebuilding " + blockId);
        }
        if (rec.imageApply(id)) {
            BlockImages.restoreBlockImage(rec, id, page, 0, scratch);
            if (!Page.isNew(page)) {
                Page.setLsn(page, end);
            }
            action = BlockAction.RESTORED;
            return false;
        }
        boolean willInit = rec.willInit(id);
        if (willInit != zero) {
            throw new RedoException(zero
                    ? "block " + id + " of " + what() + " must carry WILL_INIT to be initialized by redo"
                    : "block with WILL_INIT flag in " + what() + " must be zeroed by redo routine, block " + id);
        }
        if (zero) {
            java.util.Arrays.fill(page, 0, Page.BLCKSZ, (byte) 0);
            action = BlockAction.REDONE;
            return true;
        }
        if (Page.isNew(page)) {
            throw new RedoException("block " + id + " of " + what() + " is new or missing (invalid page)");
        }
        if (Long.compareUnsigned(end, Page.lsn(page)) <= 0) {
            action = BlockAction.DONE;
            return false;
        }
        action = BlockAction.REDONE;
        return true;
    }

    /** Read mode RBM_ZERO_ON_ERROR (the VM page of HEAP2_VISIBLE): a new page is fine. */
    boolean readZeroOnError(int id) {
        if (id != blockId) {
            throw new IllegalStateException("routine touched block " + id + " while rebuilding " + blockId);
        }
        if (rec.imageApply(id) || !Page.isNew(page)) {
            return read(id);
        }
        action = BlockAction.REDONE;
        return true;
    }

    void setLsn() {
        Page.setLsn(page, end);
    }

    String what() {
        return rec.rmgrName() + "/" + rec.recordTypeName() + " at " + Lsn.format(rec.lsn());
    }

    // ---- payload access ----

    int main() {
        return rec.mainDataOffset();
    }

    int mainU16(int off) {
        return PageBytes.u16(d, main() + off);
    }

    long mainU32(int off) {
        return PageBytes.u32(d, main() + off);
    }

    int mainU8(int off) {
        return d[main() + off] & 0xFF;
    }

    int data(int id) {
        return rec.blockDataOffset(id);
    }

    int dataLen(int id) {
        return rec.blockDataLength(id);
    }

    long blockNumber(int id) {
        return rec.blockNumber(id);
    }

    /** The line pointer {@code offnum} of the page, required NORMAL (redo PANICs otherwise); returns the tuple offset. */
    int normalItem(int offnum) {
        if (offnum < 1 || offnum > Page.maxOffsetNumber(page) || Page.itemFlags(page, offnum) != Page.LP_NORMAL) {
            throw new RedoException("invalid lp " + offnum + " in " + what() + " block " + blockId);
        }
        return Page.itemOff(page, offnum);
    }
}
