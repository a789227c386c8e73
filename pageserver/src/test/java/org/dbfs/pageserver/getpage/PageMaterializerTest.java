package org.dbfs.pageserver.getpage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.page.Page;
import org.dbfs.pgformat.redo.VisibilityMap;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.TestRecords;
import org.dbfs.protocol.pageserver.v1.PageBase;
import org.junit.jupiter.api.Test;

/**
 * The base decisions of GetPage@LSN that need no WAL contents (redo itself is covered end to end by
 * GetPageAtLsnTest against a stock standby): absent pages, stored versions, records without a base,
 * the wait failure, the cache.
 */
class PageMaterializerTest {
    private static final RelTag HEAP = new RelTag(1663, 5, 16397, 0);
    private static final RelTag VM = new RelTag(1663, 5, 16397, 2);

    /** An index with fixed answers; reading a record's contents is not expected in these cases. */
    private static final class FixedWal implements PageWal {
        final List<WalRecordRef> refs = new ArrayList<>();
        final List<String> asked = new ArrayList<>();
        RuntimeException failure;

        @Override
        public List<WalRecordRef> records(RelTag rel, long block, long fromLsn, long toLsn, boolean fromLastBase, long waitMs) {
            asked.add(fromLsn + ".." + toLsn + (fromLastBase ? " from last base" : ""));
            if (failure != null) {
                throw failure;
            }
            return refs.stream().filter(r -> r.lsn() >= fromLsn && r.lsn() < toLsn).toList();
        }

        @Override
        public List<DecodedRecord> read(List<WalRecordRef> records) {
            if (!records.isEmpty()) {
                throw new AssertionError("no record should be read here, asked for " + records);
            }
            return List.of();
        }
    }

    private static byte[] pageWithLsn(long lsn) {
        byte[] p = new byte[Page.BLCKSZ];
        Page.init(p, 0);
        Page.setLsn(p, lsn);
        p[100] = 42;
        return p;
    }

    @Test
    void nothingStoredAndNoRecordsIsAbsent() {
        FixedWal wal = new FixedWal();
        Materialized m = new PageMaterializer((rel, block, lsn) -> null, wal, false, 16).materialize(HEAP, 3, 0x5000, 100);
        assertNull(m.page());
        assertEquals(List.of("0..20480 from last base"), wal.asked);
    }

    @Test
    void aStoredVersionWithoutLaterRecordsIsTheAnswer() {
        byte[] stored = pageWithLsn(0x4000);
        FixedWal wal = new FixedWal();
        wal.refs.add(new WalRecordRef(0x3000, 0x3100, true, false, false)); // older than the stored version
        Materialized m = new PageMaterializer((rel, block, lsn) -> lsn >= 0x4000 ? new PageStore.StoredBlock(0x4000, stored) : null,
                wal, false, 16).materialize(HEAP, 3, 0x5000, 100);
        assertArrayEquals(stored, m.page());
        assertEquals(PageBase.STORED_IMAGE, m.base());
        assertEquals(0x4000, m.baseLsn());
        assertEquals(0, m.redone());
        assertEquals(List.of("16384..20480 from last base"), wal.asked, "records are asked for from the stored pd_lsn");
    }

    @Test
    void recordsWithoutAnyBaseAreRefusedByName() {
        FixedWal wal = new FixedWal();
        wal.refs.add(new WalRecordRef(0x3000, 0x3100, false, false, false));
        PageNotMaterializableException e = assertThrows(PageNotMaterializableException.class,
                () -> new PageMaterializer((rel, block, lsn) -> null, wal, false, 16).materialize(HEAP, 3, 0x5000, 100));
        assertTrue(e.getMessage().contains("neither a full-page image nor a page initialisation"), e.getMessage());
        assertTrue(e.getMessage().contains("0/3000"), e.getMessage());
    }

    @Test
    void aVisibilityMapVersionIsUsedOnlyWithoutAWalBaseAndItsRecordsAreAskedForFromTheStart() {
        byte[] stored = pageWithLsn(0x4000);
        FixedWal wal = new FixedWal();
        Materialized m = new PageMaterializer((rel, block, lsn) -> new PageStore.StoredBlock(0x4000, stored), wal, false, 16)
                .materialize(VM, 0, 0x5000, 100);
        assertEquals(PageBase.STORED_IMAGE, m.base());
        assertEquals(List.of("0..20480 from last base"), wal.asked, "a VM page looks for a WAL base however old");
    }

    /**
     * A VACUUM that truncates the heap clears the truncated blocks' bits in the VM page the cut runs
     * through, without a block reference to it and without moving its pd_lsn (smgr_redo,
     * visibilitymap_prepare_truncate). Missing it left those bits set at GetPage@LSN.
     */
    @Test
    void aTruncationClearsTheVisibilityMapBitsOfTheBlocksItCuts() {
        byte[] stored = pageWithLsn(0x4000);
        for (long heapBlock = 0; heapBlock < 8; heapBlock++) {
            stored[Page.SIZE_OF_PAGE_HEADER + (int) (heapBlock / 4)] |= (byte) (0x03 << (2 * (heapBlock % 4)));
        }
        stored[100] = 0;
        DecodedRecord truncate = TestRecords.smgrTruncate(0x5000, HEAP.spcNode(), HEAP.dbNode(), HEAP.relNode(), 3, 0x7); // heap, VM, FSM to 3 blocks
        PageWal wal = new PageWal() {
            @Override
            public List<WalRecordRef> records(RelTag rel, long block, long fromLsn, long toLsn, boolean fromLastBase, long waitMs) {
                return List.of(new WalRecordRef(0x5000, truncate.endLsn(), false, false, true));
            }

            @Override
            public List<DecodedRecord> read(List<WalRecordRef> records) {
                return List.of(truncate);
            }
        };
        Materialized m = new PageMaterializer((rel, block, lsn) -> new PageStore.StoredBlock(0x4000, stored), wal, false, 16)
                .materialize(VM, 0, 0x6000, 100);
        for (long heapBlock = 0; heapBlock < 8; heapBlock++) {
            assertEquals(heapBlock < 3 ? 0x03 : 0, VisibilityMap.get(m.page(), heapBlock), "heap block " + heapBlock);
        }
        assertEquals(0x4000, Page.lsn(m.page()), "pd_lsn stays");
    }

    @Test
    void theWaitFailurePassesThrough() {
        FixedWal wal = new FixedWal();
        wal.failure = new WalNotIndexedException("the WAL index did not reach 0/5000");
        assertThrows(WalNotIndexedException.class,
                () -> new PageMaterializer((rel, block, lsn) -> null, wal, false, 16).materialize(HEAP, 3, 0x5000, 100));
    }

    @Test
    void theSameLsnAgainComesFromTheCacheAndACopyIsReturned() {
        byte[] stored = pageWithLsn(0x4000);
        FixedWal wal = new FixedWal();
        PageMaterializer pm = new PageMaterializer((rel, block, lsn) -> new PageStore.StoredBlock(0x4000, stored.clone()), wal, false, 16);
        Materialized first = pm.materialize(HEAP, 3, 0x5000, 100);
        first.page()[100] = 7; // the caller's copy
        Materialized again = pm.materialize(HEAP, 3, 0x5000, 100);
        assertEquals(PageBase.MATERIALIZED, again.base());
        assertEquals(42, again.page()[100]);
        assertEquals(1, wal.asked.size(), "a cache hit asks the WAL service nothing");
    }

    @Test
    void lsnZeroIsRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> new PageMaterializer((rel, block, lsn) -> null, new FixedWal(), false, 16).materialize(HEAP, 3, 0, 100));
    }
}
