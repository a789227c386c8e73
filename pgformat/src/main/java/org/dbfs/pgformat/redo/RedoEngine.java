package org.dbfs.pgformat.redo;

import org.dbfs.pgformat.page.Page;
import org.dbfs.pgformat.page.PageBytes;
import org.dbfs.pgformat.wal.DecodedRecord;

/**
 * Native PostgreSQL 15 redo of one record on one block: {@link #apply} is what
 * XLogReadBufferForRedo plus the resource manager's redo routine do to that block's page, nothing more.
 *
 * <p>The redo decision: an APPLY image is restored (pd_lsn = end LSN unless the page is new); a
 * WILL_INIT block is rebuilt from a zeroed page; otherwise the record is skipped when the page's
 * pd_lsn is at or past the record's end LSN, else redone, which sets pd_lsn to the record's end LSN
 * (except for the heap page of HEAP2_VISIBLE without checksums or wal_log_hints). Visibility-map
 * changes implied by heap records are not block references; see {@link VisibilityMap#clearsOf}.
 *
 * <p>Supported: XLOG FPI and FPI_FOR_HINT; every HEAP and HEAP2 record; every BTREE record; SEQ
 * LOG. A block reference of any other resource manager raises {@link UnsupportedRecordException}.
 * Instances hold a scratch buffer: one per thread.
 */
public final class RedoEngine {
    static final int RM_XLOG = 0;
    static final int RM_SEQ = 15;
    static final int XLOG_FPI_FOR_HINT = 0xA0;
    static final int XLOG_FPI = 0xB0;
    static final int SEQ_MAGIC = 0x1717;

    private final boolean hintBitsLogged;
    private final byte[] scratch = new byte[Page.BLCKSZ];

    /** @param hintBitsLogged the cluster has data checksums or wal_log_hints on (HEAP2_VISIBLE then bumps the heap page LSN) */
    public RedoEngine(boolean hintBitsLogged) {
        this.hintBitsLogged = hintBitsLogged;
    }

    public RedoEngine() {
        this(false);
    }

    /** Whether {@link #apply} has redo routines for resource manager {@code rmid} (XLOG: FPI and FPI_FOR_HINT). */
    public static boolean supports(int rmid) {
        return switch (rmid) {
            case RM_XLOG, HeapRedo.RM_HEAP, HeapRedo.RM_HEAP2, BtreeRedo.RM_BTREE, RM_SEQ -> true;
            default -> false;
        };
    }

    /**
     * Applies {@code rec}'s change to block {@code blockId} of it, in place on {@code page} (8192
     * bytes: the block's latest version before this record, or anything when the block is WILL_INIT or
     * has an APPLY image).
     *
     * @throws UnsupportedRecordException for a resource manager or record type without a routine
     * @throws RedoException where PostgreSQL's redo would fail (invalid line pointer, missing page)
     */
    public BlockAction apply(DecodedRecord rec, int blockId, byte[] page) {
        if (!rec.hasBlockRef(blockId)) {
            throw new IllegalArgumentException("record at " + rec.lsn() + " has no block " + blockId);
        }
        Redo r = new Redo(rec, blockId, page, scratch, hintBitsLogged);
        boolean known = switch (rec.rmid()) {
            case RM_XLOG -> xlog(r);
            case HeapRedo.RM_HEAP -> HeapRedo.heap(r);
            case HeapRedo.RM_HEAP2 -> HeapRedo.heap2(r);
            case BtreeRedo.RM_BTREE -> BtreeRedo.redo(r);
            case RM_SEQ -> seq(r);
            default -> false;
        };
        if (!known) {
            throw new UnsupportedRecordException(rec.rmgrName(), rec.recordTypeName());
        }
        if (r.action == null) {
            throw new IllegalStateException(r.what() + " did not touch its block " + blockId);
        }
        return r.action;
    }

    private static boolean xlog(Redo r) {
        int op = r.rec.info() & 0xF0;
        if (op != XLOG_FPI && op != XLOG_FPI_FOR_HINT) {
            return false;
        }
        if (r.rec.hasImage(r.blockId)) {
            if (!r.rec.imageApply(r.blockId)) {
                throw new RedoException("XLOG image without BKPIMAGE_APPLY in " + r.what());
            }
            r.read(r.blockId);
        } else {
            r.action = BlockAction.DONE; // FPI_FOR_HINT without an image (full_page_writes off)
        }
        return true;
    }

    /** seq_redo(): the page is rebuilt from the logged tuple. */
    private static boolean seq(Redo r) {
        if ((r.rec.info() & 0xF0) != 0x00) {
            return false;
        }
        if (r.init(0)) {
            byte[] p = r.page;
            Page.init(p, 4);
            PageBytes.putI32(p, Page.special(p), SEQ_MAGIC);
            int item = r.main() + 12;
            Page.addItem(p, r.d, item, r.rec.mainDataLength() - 12, 1, 0);
            r.setLsn();
        }
        return true;
    }
}
