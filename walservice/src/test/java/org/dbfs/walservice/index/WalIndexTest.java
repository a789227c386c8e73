package org.dbfs.walservice.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import org.dbfs.pgformat.BufferTag;
import org.dbfs.pgformat.RelTag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalIndexTest {
    @TempDir
    Path dir;

    static final BufferTag A = page(1663, 5, 16384, 0, 0);
    static final BufferTag A1 = page(1663, 5, 16384, 0, 1);
    static final BufferTag A_VM = page(1663, 5, 16384, 2, 0);
    /** Unsigned OIDs and blocks above 2^31 must sort after small ones. */
    static final BufferTag HIGH = page(0x80000001, 5, 0xFFFFFFF0, 0, 0xFFFFFFFE);

    static BufferTag page(int spcNode, int dbNode, int relNode, int forkNum, int blockNum) {
        return new BufferTag(new RelTag(spcNode, dbNode, relNode, forkNum), blockNum);
    }

    static PageRef ref(BufferTag page, long lsn, int flags) {
        return new PageRef(page, lsn, lsn + 64, 60, flags);
    }

    @Test
    void rangeScanReturnsOnlyThatPageInLsnOrder() throws Exception {
        try (WalIndex index = WalIndex.open(dir)) {
            index.append(List.of(ref(A, 300, 0), ref(A1, 100, 0), ref(A, 100, RecordFlags.HAS_APPLY_IMAGE),
                    ref(A_VM, 200, 0), ref(A, 0x1_0000_0000L, 0), ref(A, 200, 0)), 0x2_0000_0000L);
            List<IndexedRecord> all = index.recordsTouching(A, 0, -1L);
            assertEquals(List.of(100L, 200L, 300L, 0x1_0000_0000L), all.stream().map(IndexedRecord::lsn).toList());
            assertTrue(all.getFirst().hasApplyImage());
            assertEquals(164, all.getFirst().endLsn());
            assertEquals(60, all.getFirst().length());
            assertEquals(List.of(200L, 300L), index.recordsTouching(A, 150, 301).stream().map(IndexedRecord::lsn).toList());
            assertEquals(List.of(200L), index.recordsTouching(A, 200, 300).stream().map(IndexedRecord::lsn).toList(),
                    "from is inclusive, to exclusive");
            assertEquals(List.of(100L), index.recordsTouching(A1, 0, -1L).stream().map(IndexedRecord::lsn).toList());
            assertEquals(List.of(200L), index.recordsTouching(A_VM, 0, -1L).stream().map(IndexedRecord::lsn).toList());
            assertEquals(List.of(), index.recordsTouching(A, 500, 500));
        }
    }

    @Test
    void unsignedFieldsKeepTheirOwnPages() throws Exception {
        try (WalIndex index = WalIndex.open(dir)) {
            index.append(List.of(ref(HIGH, 10, RecordFlags.WILL_INIT), ref(A, 20, 0)), 100);
            assertEquals(1, index.recordsTouching(HIGH, 0, -1L).size());
            assertTrue(index.recordsTouching(HIGH, 0, -1L).getFirst().willInit());
            assertEquals(1, index.recordsTouching(A, 0, -1L).size());
        }
    }

    @Test
    void lastImageOrInitFindsTheNewestBaseAtOrBelow() throws Exception {
        try (WalIndex index = WalIndex.open(dir)) {
            index.append(List.of(ref(A, 100, RecordFlags.WILL_INIT), ref(A, 200, 0), ref(A, 300, RecordFlags.HAS_APPLY_IMAGE),
                    ref(A, 400, 0), ref(A1, 350, RecordFlags.HAS_APPLY_IMAGE)), 1000);
            assertEquals(Optional.empty(), index.lastImageOrInitAtOrBelow(A, 99));
            assertEquals(100, index.lastImageOrInitAtOrBelow(A, 100).orElseThrow().lsn(), "at is inclusive");
            assertEquals(100, index.lastImageOrInitAtOrBelow(A, 299).orElseThrow().lsn());
            assertEquals(300, index.lastImageOrInitAtOrBelow(A, 300).orElseThrow().lsn());
            assertEquals(300, index.lastImageOrInitAtOrBelow(A, 999).orElseThrow().lsn(), "A1's newer image is another page");
            assertEquals(Optional.empty(), index.lastImageOrInitAtOrBelow(A_VM, 999));
        }
    }

    @Test
    void survivesReopenAndResumesWithoutDuplicates() throws Exception {
        try (WalIndex index = WalIndex.open(dir)) {
            assertEquals(0, index.indexedUpTo());
            index.append(List.of(ref(A, 100, 0), ref(A, 200, 0)), 250);
        }
        try (WalIndex index = WalIndex.open(dir)) {
            assertEquals(250, index.indexedUpTo());
            // After a crash the decoder re-reads from an earlier point and hands in old records again.
            index.append(List.of(ref(A, 100, RecordFlags.WILL_INIT), ref(A, 200, 0), ref(A, 300, 0)), 400);
            List<IndexedRecord> all = index.recordsTouching(A, 0, -1L);
            assertEquals(List.of(100L, 200L, 300L), all.stream().map(IndexedRecord::lsn).toList());
            assertEquals(0, all.getFirst().flags(), "an already indexed record is not rewritten");
            assertEquals(400, index.indexedUpTo());
        }
    }

    @Test
    void rejectsBackwardsAndOutOfBatchRecords() throws Exception {
        try (WalIndex index = WalIndex.open(dir)) {
            index.append(List.of(ref(A, 100, 0)), 200);
            assertThrows(IllegalArgumentException.class, () -> index.append(List.of(), 150));
            assertThrows(IllegalArgumentException.class, () -> index.append(List.of(ref(A, 300, 0)), 300));
            assertEquals(200, index.indexedUpTo(), "a rejected batch changes nothing");
            assertEquals(1, index.recordsTouching(A, 0, -1L).size());
            assertThrows(IllegalArgumentException.class, () -> new PageRef(A, 10, 10, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> new PageRef(A, 10, 20, 0, 0x80));
        }
    }

    /** Random batches against a TreeMap model; the seed is printed so a failure can be replayed. */
    @Test
    void randomBatchesMatchAModel() throws Exception {
        long seed = System.nanoTime();
        System.out.println("WalIndexTest seed " + seed);
        Random rnd = new Random(seed);
        BufferTag[] pages = new BufferTag[12];
        for (int i = 0; i < pages.length; i++) {
            pages[i] = page(1663, 5, 16384 + rnd.nextInt(3), rnd.nextInt(3), rnd.nextInt(4));
        }
        Map<BufferTag, TreeMap<Long, Integer>> model = new java.util.HashMap<>();
        long lsn = 0x1000000;
        try (WalIndex index = WalIndex.open(dir)) {
            for (int batch = 0; batch < 40; batch++) {
                List<PageRef> refs = new ArrayList<>();
                int n = rnd.nextInt(50);
                for (int i = 0; i < n; i++) {
                    lsn += 8 * (1 + rnd.nextInt(100));
                    BufferTag p = pages[rnd.nextInt(pages.length)];
                    int flags = rnd.nextInt(4);
                    refs.add(ref(p, lsn, flags));
                    model.computeIfAbsent(p, k -> new TreeMap<>()).put(lsn, flags);
                }
                lsn += 8;
                index.append(refs, lsn);
            }
            for (int q = 0; q < 300; q++) {
                BufferTag p = pages[rnd.nextInt(pages.length)];
                TreeMap<Long, Integer> m = model.getOrDefault(p, new TreeMap<>());
                long a = 0x1000000 + rnd.nextLong(lsn - 0x1000000);
                long b = a + rnd.nextLong(lsn - a + 1);
                assertEquals(List.copyOf(m.subMap(a, true, b, false).keySet()),
                        index.recordsTouching(p, a, b).stream().map(IndexedRecord::lsn).toList(), "seed " + seed);
                Long base = m.headMap(b, true).descendingMap().entrySet().stream()
                        .filter(e -> RecordFlags.isBase(e.getValue())).map(Map.Entry::getKey).findFirst().orElse(null);
                assertEquals(Optional.ofNullable(base), index.lastImageOrInitAtOrBelow(p, b).map(IndexedRecord::lsn), "seed " + seed);
            }
        }
    }
}
