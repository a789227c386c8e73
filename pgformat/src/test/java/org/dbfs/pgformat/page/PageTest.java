package org.dbfs.pgformat.page;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** bufpage.c behaviour, byte for byte on hand-built pages. */
class PageTest {
    static byte[] item(int len, int fill) {
        byte[] b = new byte[len];
        java.util.Arrays.fill(b, (byte) fill);
        return b;
    }

    /** A btree-like page with items of the given sizes appended in order (item i filled with byte i). */
    static byte[] pageWith(int special, int... sizes) {
        byte[] p = new byte[Page.BLCKSZ];
        Page.init(p, special);
        for (int i = 0; i < sizes.length; i++) {
            Page.addItem(p, item(sizes[i], i + 1), 0, sizes[i], i + 1, 0);
        }
        return p;
    }

    @Test
    void pageInitSetsTheHeaderLikePostgres() {
        byte[] p = new byte[Page.BLCKSZ];
        java.util.Arrays.fill(p, (byte) 0x55);
        Page.init(p, 4); // sequence: special 4 aligned to 8
        assertEquals(24, Page.lower(p));
        assertEquals(8184, Page.upper(p));
        assertEquals(8184, Page.special(p));
        assertEquals(0x04, p[18]); // pd_pagesize_version 0x2004, little endian
        assertEquals(0x20, p[19]);
        assertEquals(0, Page.lsn(p));
        assertEquals(0, p[8191]);
        assertEquals(0, Page.maxOffsetNumber(p));
    }

    @Test
    void addItemPlacesTuplesBelowUpperWithUnalignedLength() {
        byte[] p = pageWith(0, 30, 16);
        assertEquals(2, Page.maxOffsetNumber(p));
        // Item 1: 30 bytes at 8192 - 32; item 2: 16 bytes below it.
        assertEquals(Page.makeItemId(8160, Page.LP_NORMAL, 30), Page.itemId(p, 1));
        assertEquals(Page.makeItemId(8144, Page.LP_NORMAL, 16), Page.itemId(p, 2));
        // The raw line pointer word: off | flags << 15 | len << 17, little endian.
        assertArrayEquals(new byte[] {(byte) 0xE0, (byte) 0x9F, 0x3C, 0x00}, java.util.Arrays.copyOfRange(p, 24, 28));
        assertEquals(8144, Page.upper(p));
        assertEquals(32, Page.lower(p));
        assertEquals(1, p[8160]);
        assertEquals(2, p[8144]);
    }

    @Test
    void addItemInTheMiddleShufflesLinePointersUnlessOverwriting() {
        byte[] p = pageWith(16, 8, 8);
        Page.addItem(p, item(8, 9), 0, 8, 1, 0);
        assertEquals(3, Page.maxOffsetNumber(p));
        assertEquals(9, p[Page.itemOff(p, 1)]);
        assertEquals(1, p[Page.itemOff(p, 2)]);
        assertEquals(2, p[Page.itemOff(p, 3)]);
        // Heap overwrite mode refuses a used slot.
        assertThrows(PageCorruptException.class,
                () -> Page.addItem(p, item(8, 7), 0, 8, 2, Page.PAI_OVERWRITE | Page.PAI_IS_HEAP));
        assertThrows(PageCorruptException.class, () -> Page.addItem(p, item(8, 7), 0, 8, 5, 0));
    }

    @Test
    void repairFragmentationPacksItemsInLinePointerOrderFromSpecial() {
        byte[] p = pageWith(0, 24, 40, 10, 16);
        Page.setItemId(p, 2, Page.makeItemId(0, Page.LP_DEAD, 0));
        Page.setItemId(p, 4, 0); // trailing unused: truncated
        Page.repairFragmentation(p);
        assertEquals(3, Page.maxOffsetNumber(p));
        assertEquals(Page.makeItemId(8168, Page.LP_NORMAL, 24), Page.itemId(p, 1));
        assertEquals(Page.makeItemId(0, Page.LP_DEAD, 0), Page.itemId(p, 2));
        assertEquals(Page.makeItemId(8152, Page.LP_NORMAL, 10), Page.itemId(p, 3));
        assertEquals(8152, Page.upper(p));
        assertEquals(3, p[8152]);
        assertEquals(0, Page.flags(p) & Page.PD_HAS_FREE_LINES);
        Page.setItemId(p, 1, 0);
        Page.repairFragmentation(p);
        assertEquals(Page.PD_HAS_FREE_LINES, Page.flags(p) & Page.PD_HAS_FREE_LINES);
        assertEquals(Page.makeItemId(8176, Page.LP_NORMAL, 10), Page.itemId(p, 3));
    }

    @Test
    void multiDeleteOfTwoKeepsPhysicalOrderAndOfThreeRepacks() {
        // Items physically out of line-pointer order: item 1 was added last, at the bottom.
        byte[] a = pageWith(16, 8, 16, 8, 8);
        Page.addItem(a, item(8, 9), 0, 8, 1, 0);
        byte[] b = a.clone();
        Page.indexMultiDelete(a, new int[] {2, 4}, 2);
        // n <= 2: PageIndexTupleDelete each, physical order kept: item 9 still lowest.
        assertEquals(3, Page.maxOffsetNumber(a));
        assertEquals(Page.upper(a), Page.itemOff(a, 1));
        assertEquals(9, a[Page.itemOff(a, 1)]);
        assertEquals(2, a[Page.itemOff(a, 2)]);
        assertEquals(8160, Page.itemOff(a, 2));
        Page.indexMultiDelete(b, new int[] {2, 4, 5}, 3);
        // n >= 3: kept items re-packed from pd_special in line-pointer order: item 9 now on top.
        assertEquals(2, Page.maxOffsetNumber(b));
        assertEquals(8168, Page.itemOff(b, 1));
        assertEquals(9, b[8168]);
        assertEquals(8152, Page.itemOff(b, 2));
        assertEquals(2, b[8152]);
        assertEquals(8152, Page.upper(b));
    }

    @Test
    void indexTupleOverwriteShrinksInPlaceAndMovesLowerTuples() {
        byte[] p = pageWith(16, 16, 24, 8);
        Page.indexTupleOverwrite(p, 2, item(8, 7), 0, 8);
        // special 8176: items were at 8160 (16), 8136 (24), 8128 (8); item 2 shrinks by 16.
        assertEquals(Page.makeItemId(8152, Page.LP_NORMAL, 8), Page.itemId(p, 2));
        assertEquals(7, p[8152]);
        assertEquals(8144, Page.itemOff(p, 3)); // moved up by 16
        assertEquals(3, p[8144]);
        assertEquals(8144, Page.upper(p));
        assertEquals(8160, Page.itemOff(p, 1)); // above the target: untouched
    }

    @Test
    void deleteNoCompactLeavesAnUnusedLinePointer() {
        byte[] p = pageWith(16, 8, 8, 8);
        Page.indexTupleDeleteNoCompact(p, 2);
        assertEquals(3, Page.maxOffsetNumber(p));
        assertEquals(0, Page.itemId(p, 2));
        assertEquals(8160, Page.itemOff(p, 3));
        assertEquals(3, p[8160]);
        Page.indexTupleDeleteNoCompact(p, 3);
        assertEquals(2, Page.maxOffsetNumber(p));
        assertEquals(8168, Page.upper(p));
    }

    @Test
    void truncateLinePointerArrayKeepsTheFirstAndSetsTheHint() {
        byte[] p = pageWith(0, 8, 8, 8, 8);
        Page.setItemId(p, 2, 0);
        Page.setItemId(p, 3, 0);
        Page.setItemId(p, 4, 0);
        Page.truncateLinePointerArray(p);
        assertEquals(1, Page.maxOffsetNumber(p));
        assertEquals(0, Page.flags(p) & Page.PD_HAS_FREE_LINES);
        Page.setItemId(p, 1, 0);
        Page.truncateLinePointerArray(p);
        assertEquals(1, Page.maxOffsetNumber(p));
        assertEquals(Page.PD_HAS_FREE_LINES, Page.flags(p) & Page.PD_HAS_FREE_LINES);
    }

    @Test
    void prunableXidUsesWraparoundComparison() {
        byte[] p = pageWith(0);
        Page.setPrunable(p, 100);
        Page.setPrunable(p, 200);
        assertEquals(100, Page.pruneXid(p));
        Page.setPrunable(p, 0xFFFF_FFF0L); // precedes 100 modulo 2^32
        assertEquals(0xFFFF_FFF0L, Page.pruneXid(p));
        assertEquals(Page.BLCKSZ - 24 - 4, Page.freeSpace(p));
    }
}
