package org.dbfs.pgformat.redo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.dbfs.pgformat.page.HeapTupleHeader;
import org.dbfs.pgformat.page.Page;
import org.dbfs.pgformat.page.PageBytes;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.TestRecords;
import org.dbfs.pgformat.wal.TestRecords.Block;
import org.junit.jupiter.api.Test;

/** Hand-checked redo cases on hand-built records. */
class RedoEngineTest {
    static final long LSN = 0x0100_0028L;
    final RedoEngine engine = new RedoEngine();

    static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** xl_heap_header: infomask2, infomask, t_hoff. */
    static byte[] heapHeader(int infomask2, int infomask, int hoff) {
        return bytes(infomask2, infomask2 >> 8, infomask, infomask >> 8, hoff);
    }

    static DecodedRecord insert(boolean init, long lsn, int offnum, byte[] body) {
        return TestRecords.build(10, init ? 0x80 : 0x00, 742, lsn,
                List.of(new Block(0, 0, 3, init, concat(heapHeader(2, 0x0802, 24), body))),
                bytes(offnum, offnum >> 8, 0));
    }

    @Test
    void heapInsertInitBuildsTheTupleLikePostgres() {
        byte[] page = new byte[Page.BLCKSZ];
        DecodedRecord rec = insert(true, LSN, 1, bytes(0, 42, 0, 0, 0));
        assertEquals(BlockAction.REDONE, engine.apply(rec, 0, page));
        assertEquals(rec.endLsn(), Page.lsn(page));
        assertEquals(Page.makeItemId(8192 - 32, Page.LP_NORMAL, 28), Page.itemId(page, 1));
        int t = 8160;
        assertEquals(742, PageBytes.u32(page, t));                 // xmin = xl_xid
        assertEquals(0, PageBytes.u32(page, t + 4));               // xmax
        assertEquals(0, PageBytes.u32(page, t + 8));               // cid = FirstCommandId
        assertEquals(3, PageBytes.itemPointerBlock(page, t + 12)); // ctid = (3, 1)
        assertEquals(1, PageBytes.itemPointerOffset(page, t + 12));
        assertEquals(2, HeapTupleHeader.infomask2(page, t));
        assertEquals(0x0802, HeapTupleHeader.infomask(page, t));
        assertEquals(24, HeapTupleHeader.hoff(page, t));
        assertEquals(42, page[t + 24]);
    }

    @Test
    void theRedoDecisionSkipsAPageAlreadyAtTheRecordsEnd() {
        byte[] page = new byte[Page.BLCKSZ];
        engine.apply(insert(true, LSN, 1, bytes(0, 1, 0, 0, 0)), 0, page);
        DecodedRecord second = insert(false, LSN + 0x100, 2, bytes(0, 2, 0, 0, 0));
        byte[] ahead = page.clone();
        Page.setLsn(ahead, second.endLsn());
        byte[] before = ahead.clone();
        assertEquals(BlockAction.DONE, engine.apply(second, 0, ahead));
        assertArrayEquals(before, ahead);
        assertEquals(BlockAction.REDONE, engine.apply(second, 0, page));
        assertEquals(2, Page.maxOffsetNumber(page));
        assertEquals(second.endLsn(), Page.lsn(page));
    }

    @Test
    void missingPagesWillInitMismatchesAndUnknownRecordsFailLoudly() {
        assertThrows(RedoException.class,
                () -> engine.apply(insert(false, LSN, 1, bytes(0, 1, 0, 0, 0)), 0, new byte[Page.BLCKSZ]));
        DecodedRecord initWithoutFlag = TestRecords.build(10, 0x00, 742, LSN,
                List.of(new Block(0, 0, 3, true, concat(heapHeader(2, 0, 24), bytes(0)))), bytes(1, 0, 0));
        assertThrows(RedoException.class, () -> engine.apply(initWithoutFlag, 0, new byte[Page.BLCKSZ]));
        DecodedRecord hash = TestRecords.build(12, 0x00, 742, LSN, List.of(new Block(0, 0, 1, false, bytes(1))), bytes(1, 0));
        UnsupportedRecordException e = assertThrows(UnsupportedRecordException.class,
                () -> engine.apply(hash, 0, new byte[Page.BLCKSZ]));
        assertEquals("Hash", e.rmgrName());
        assertTrue(e.getMessage().contains("Hash/"), e.getMessage());
    }

    @Test
    void hotUpdateRebuildsTheNewTupleFromPrefixAndSuffixOfTheOld() {
        byte[] page = new byte[Page.BLCKSZ];
        byte[] oldBody = concat(bytes(0), "AAAABBBBCCCC".getBytes(StandardCharsets.US_ASCII));
        engine.apply(insert(true, LSN, 1, oldBody), 0, page);
        // xl_heap_update: old_xmax, old_offnum, old_infobits, flags (PREFIX|SUFFIX), new_xmax, new_offnum
        byte[] main = bytes(0xE7, 2, 0, 0, 1, 0, 0, 0x60, 0, 0, 0, 0, 2, 0);
        byte[] data = concat(bytes(4, 0, 4, 0), heapHeader(0x8002, 0x2802, 24), bytes(0),
                "XXXX".getBytes(StandardCharsets.US_ASCII));
        DecodedRecord hot = TestRecords.build(10, 0x40, 743, LSN + 0x200, List.of(new Block(0, 0, 3, false, data)), main);
        assertEquals(BlockAction.REDONE, engine.apply(hot, 0, page));
        int oldT = Page.itemOff(page, 1);
        assertEquals(0x2E7, PageBytes.u32(page, oldT + 4));
        assertEquals(HeapTupleHeader.HEAP_HOT_UPDATED, HeapTupleHeader.infomask2(page, oldT) & HeapTupleHeader.HEAP_HOT_UPDATED);
        assertEquals(2, PageBytes.itemPointerOffset(page, oldT + 12));
        assertEquals(743, Page.pruneXid(page));
        int newT = Page.itemOff(page, 2);
        assertEquals(23 + 1 + 12, Page.itemLen(page, 2));
        assertEquals("AAAAXXXXCCCC", new String(page, newT + 24, 12, StandardCharsets.US_ASCII));
        assertEquals(743, PageBytes.u32(page, newT));
        assertEquals(0x8002, HeapTupleHeader.infomask2(page, newT));
        assertEquals(hot.endLsn(), Page.lsn(page));
    }

    /** xl_heap_delete / xl_heap_lock: u32 xmax, u16 offnum, u8 infobits, u8 flags. */
    static byte[] xmaxRecord(long xmax, int offnum, int infobits, int flags) {
        return bytes((int) xmax, (int) (xmax >> 8), 0, 0, offnum, 0, infobits, flags);
    }

    @Test
    void deleteOfASpeculativeInsertionKillsXminAndAPartitionMoveMarksTheCtid() {
        byte[] page = new byte[Page.BLCKSZ];
        engine.apply(insert(true, LSN, 1, bytes(0, 1, 0, 0, 0)), 0, page);
        engine.apply(insert(false, LSN + 0x100, 2, bytes(0, 2, 0, 0, 0)), 0, page);
        DecodedRecord superDelete = TestRecords.build(10, 0x10, 742, LSN + 0x200,
                List.of(new Block(0, 0, 3, false, null)), xmaxRecord(0, 1, 0, 0x08));
        engine.apply(superDelete, 0, page);
        int t1 = Page.itemOff(page, 1);
        assertEquals(0, PageBytes.u32(page, t1));     // xmin invalid
        assertEquals(0, PageBytes.u32(page, t1 + 4)); // xmax untouched (0)
        DecodedRecord moved = TestRecords.build(10, 0x10, 744, LSN + 0x300,
                List.of(new Block(0, 0, 3, false, null)), xmaxRecord(744, 2, 0, 0x10));
        engine.apply(moved, 0, page);
        int t2 = Page.itemOff(page, 2);
        assertEquals(744, PageBytes.u32(page, t2 + 4));
        assertEquals(0xFFFF_FFFFL, PageBytes.itemPointerBlock(page, t2 + 12));
        assertEquals(0xFFFD, PageBytes.itemPointerOffset(page, t2 + 12));
        assertEquals(742, Page.pruneXid(page)); // the smaller xid stays
    }

    @Test
    void aLockOnlyXmaxResetsTheCtidButLockUpdatedDoesNot() {
        byte[] page = new byte[Page.BLCKSZ];
        engine.apply(insert(true, LSN, 1, bytes(0, 1, 0, 0, 0)), 0, page);
        int t = Page.itemOff(page, 1);
        PageBytes.putItemPointer(page, t + 12, 9, 9); // pretend a forward link
        // HEAP2 LOCK_UPDATED with infobits LOCK_ONLY|KEYSHR: xmax and bits, ctid and cid kept.
        PageBytes.putI32(page, t + 8, 77);
        engine.apply(TestRecords.build(9, 0x60, 0, LSN + 0x100, List.of(new Block(0, 0, 3, false, null)),
                xmaxRecord(900, 1, 0x0A, 0)), 0, page);
        assertEquals(900, PageBytes.u32(page, t + 4));
        assertEquals(9, PageBytes.itemPointerOffset(page, t + 12));
        assertEquals(77, PageBytes.u32(page, t + 8));
        assertEquals(HeapTupleHeader.HEAP_XMAX_LOCK_ONLY | HeapTupleHeader.HEAP_XMAX_KEYSHR_LOCK,
                HeapTupleHeader.infomask(page, t) & HeapTupleHeader.HEAP_XMAX_BITS);
        // HEAP LOCK with the same bits: locked-only, so the ctid points at itself again and cid is 0.
        engine.apply(TestRecords.build(10, 0x60, 0, LSN + 0x200, List.of(new Block(0, 0, 3, false, null)),
                xmaxRecord(901, 1, 0x0A, 0)), 0, page);
        assertEquals(901, PageBytes.u32(page, t + 4));
        assertEquals(3, PageBytes.itemPointerBlock(page, t + 12));
        assertEquals(1, PageBytes.itemPointerOffset(page, t + 12));
        assertEquals(0, PageBytes.u32(page, t + 8));
    }

    @Test
    void pruneRedirectsKillsAndCompacts() {
        byte[] page = new byte[Page.BLCKSZ];
        engine.apply(insert(true, LSN, 1, bytes(0, 1, 0, 0, 0)), 0, page);
        for (int i = 2; i <= 4; i++) {
            engine.apply(insert(false, LSN + 0x100L * i, i, bytes(0, i, 0, 0, 0)), 0, page);
        }
        // main: latestRemovedXid, nredirected 1, ndead 1; data: (1 -> 3), dead 2, unused 4
        DecodedRecord prune = TestRecords.build(9, 0x10, 0, LSN + 0x1000,
                List.of(new Block(0, 0, 3, false, bytes(1, 0, 3, 0, 2, 0, 4, 0))), bytes(0, 0, 0, 0, 1, 0, 1, 0));
        engine.apply(prune, 0, page);
        assertEquals(3, Page.maxOffsetNumber(page));
        assertEquals(Page.makeItemId(3, Page.LP_REDIRECT, 0), Page.itemId(page, 1));
        assertEquals(Page.makeItemId(0, Page.LP_DEAD, 0), Page.itemId(page, 2));
        assertEquals(Page.makeItemId(8160, Page.LP_NORMAL, 28), Page.itemId(page, 3));
        assertEquals(3, page[8160 + 24]);
        assertEquals(8160, Page.upper(page));
    }

    @Test
    void visibilityMapBitsAreClearedBySideEffectAndSetByVisible() {
        // HEAP DELETE with ALL_VISIBLE_CLEARED on heap block 3 implies clearing both bits of block 3.
        DecodedRecord delete = TestRecords.build(10, 0x10, 742, LSN, List.of(new Block(0, 0, 3, false, null)),
                bytes(0xE7, 2, 0, 0, 1, 0, 0, 0x01));
        List<VisibilityMap.Clear> clears = VisibilityMap.clearsOf(delete);
        assertEquals(1, clears.size());
        assertEquals(3, clears.get(0).heapBlock());
        assertEquals(VisibilityMap.VALID_BITS, clears.get(0).flags());
        // HEAP2 VISIBLE: block 0 = VM page (fork 2, new: initialized), block 1 = heap block 5.
        DecodedRecord visible = TestRecords.build(9, 0x40, 0, LSN + 0x100,
                List.of(new Block(0, 2, 0, false, null), new Block(1, 0, 5, false, null)), bytes(0, 0, 0, 0, 3));
        byte[] vm = new byte[Page.BLCKSZ];
        engine.apply(visible, 0, vm);
        assertEquals(24, Page.lower(vm));
        assertEquals(0x03 << 2, vm[24 + 1]); // heap block 5: byte 1, shift 2
        assertEquals(visible.endLsn(), Page.lsn(vm));
        VisibilityMap.clear(vm, 5, VisibilityMap.ALL_FROZEN);
        assertEquals(VisibilityMap.ALL_VISIBLE, VisibilityMap.get(vm, 5));
    }

    @Test
    void heapMaskHidesHintBitsAndPaddingButNotData() {
        byte[] a = new byte[Page.BLCKSZ];
        engine.apply(insert(true, LSN, 1, bytes(0, 1, 0, 0, 0)), 0, a);
        byte[] b = a.clone();
        int t = Page.itemOff(b, 1);
        HeapTupleHeader.setInfomask(b, t, HeapTupleHeader.infomask(b, t) | HeapTupleHeader.HEAP_XMIN_COMMITTED);
        b[t + 28] = 9; // padding after the 28-byte tuple
        Page.setFlag(b, Page.PD_ALL_VISIBLE);
        byte[] ma = a.clone();
        byte[] mb = b.clone();
        Masking.maskHeap(ma, 3);
        Masking.maskHeap(mb, 3);
        assertArrayEquals(ma, mb);
        b[t + 24] = 2; // a data byte
        mb = b.clone();
        Masking.maskHeap(mb, 3);
        assertEquals(t + 24, java.util.Arrays.mismatch(ma, mb));
    }
}
