package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pgformat.RelTag;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.junit.jupiter.api.Test;

/**
 * The version index keeps packed versions on disk: the heap holds the blocks waiting to be packed
 * and a bounded cache, and reads stay exact while the packer and garbage collection move versions.
 */
class VersionIndexTest extends StoreTestBase {
    static final RelTag REL = new RelTag(1663, 5, 16384, 0);

    /** Writes one version of each block in [from, to) at {@code lsn}, in records of 64 pages. */
    void writeBlocks(int from, int to, long lsn) throws IOException {
        for (int start = from; start < to; start += 64) {
            JournalRecord.Builder r = JournalRecord.newBuilder();
            for (int b = start; b < Math.min(to, start + 64); b++) {
                r.addPages(page(b, lsn, lsn));
            }
            store.commit(r, true);
        }
    }

    static PageVersionRecord page(int block, long lsn, long marker) {
        return PageVersionRecord.newBuilder().setRel(RelTagRecords.toRecord(REL)).setBlockNum(block).setLsn(lsn)
                .setData(ByteString.copyFrom(PageStoreTest.page(lsn, block + "@" + marker))).build();
    }

    static String marker(byte[] page) {
        int end = 100;
        while (page[end] != 0) {
            end++;
        }
        return new String(page, 100, end - 100);
    }

    @Test
    void packedVersionsAreReadFromDiskAndOnlyABoundedCacheStaysInMemory() throws IOException {
        int blocks = 3000;
        open(StoreOptions.defaults(tmp.resolve("cache")).withPacking(Long.MAX_VALUE, Duration.ofDays(1))
                .withCachedIndexBlocks(100));
        writeBlocks(0, blocks, 10);
        writeBlocks(0, blocks, 20);
        assertEquals(blocks, store.pages.pinnedBlocks(), "unpacked versions are in memory until packed");
        store.packNow();
        assertEquals(0, store.pages.pinnedBlocks(), "packed blocks leave memory");

        for (int b = 0; b < blocks; b++) {
            assertEquals(b + "@10", marker(store.readPage(REL, b, 15).data()));
            assertEquals(b + "@20", marker(store.readPage(REL, b, 0).data()));
        }
        assertNull(store.readPage(REL, blocks, 0));
        assertTrue(store.pages.cachedBlocks() <= 100, "cache holds " + store.pages.cachedBlocks() + " blocks");

        // A write to a packed block pins it with its packed history, so reads as of old LSNs still see it.
        writeBlocks(7, 8, 30);
        assertEquals(1, store.pages.pinnedBlocks());
        assertEquals("7@10", marker(store.readPage(REL, 7, 15).data()));
        assertEquals("7@30", marker(store.readPage(REL, 7, 0).data()));
        store.packNow();
        assertEquals(0, store.pages.pinnedBlocks());
        assertEquals("7@30", marker(store.readPage(REL, 7, 0).data()));
        assertEquals("7@20", marker(store.readPage(REL, 7, 25).data()));
    }

    @Test
    void aDropTombstonesPackedBlocksAndTheHistoryBeforeItStaysReadable() throws IOException {
        open(StoreOptions.defaults(tmp.resolve("cache")).withPacking(Long.MAX_VALUE, Duration.ofDays(1))
                .withCachedIndexBlocks(10));
        writeBlocks(0, 200, 10);
        store.packNow();
        store.commit(JournalRecord.newBuilder().addRelDrops(org.dbfs.pageserver.format.BlockRangeDrop.newBuilder()
                .setRel(RelTagRecords.toRecord(REL)).setFromBlock(50).setToBlock(150)), true);
        assertEquals(100, store.pages.pinnedBlocks());
        store.packNow();
        for (int b = 0; b < 200; b++) {
            boolean dropped = b >= 50 && b < 150;
            assertEquals(dropped, store.readPage(REL, b, 0) == null, "block " + b);
            assertEquals(b + "@10", marker(store.readPage(REL, b, 10).data()));
        }
    }

    /**
     * Readers race the packer and garbage collection (retention 0: versions dropped, segments
     * rewritten, journal files retired) with an index cache far smaller than the blocks and no
     * recent writes in memory. A reader that starts after a write was
     * acknowledged must see it or a newer one, never an older one and never nothing.
     */
    @Test
    void readsNeverGoBackWhilePackingAndCollectingMoveVersions() throws Exception {
        open(StoreOptions.defaults(tmp.resolve("cache")).withPacking(Long.MAX_VALUE, Duration.ofDays(1))
                .withCachedIndexBlocks(8).withRecentWriteBytes(0) // unpacked reads go to the journal, which packing retires
                .withGc(GcOptions.defaults().withRetention(Duration.ZERO).withTiming(Duration.ofDays(1), Duration.ofHours(1))));
        FileSystemOps fs = new FileSystemOps(store); // the relation's file exists, so collection keeps its blocks
        for (String path : List.of("/base", "/base/5")) {
            fs.makeNode(MakeNodeRequest.newBuilder().setPath(path).setType(NodeType.DIRECTORY).setMode(0700).build());
        }
        fs.makeNode(MakeNodeRequest.newBuilder().setPath("/base/5/16384").setType(NodeType.REGULAR).setMode(0600)
                .setRel(RelTagMessages.toMessage(REL)).build());
        int blocks = 64;
        AtomicLongArray acked = new AtomicLongArray(blocks);
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        threads.add(Thread.ofPlatform().start(() -> run(failure, done, () -> {
            for (long i = 1; !done.get(); i++) {
                int b = (int) (i % blocks);
                store.commit(JournalRecord.newBuilder().addPages(page(b, i * 16, i)), true);
                acked.set(b, i);
            }
        })));
        for (int r = 0; r < 2; r++) {
            threads.add(Thread.ofPlatform().start(() -> run(failure, done, () -> {
                while (!done.get()) {
                    int b = ThreadLocalRandom.current().nextInt(blocks);
                    long expected = acked.get(b);
                    PageStore.StoredBlock page = store.readPage(REL, b, 0);
                    if (expected == 0) {
                        continue;
                    }
                    if (page == null) {
                        throw new AssertionError("block " + b + " read as absent after write " + expected + " was acknowledged");
                    }
                    long seen = Long.parseLong(marker(page.data()).split("@")[1]);
                    if (seen < expected) {
                        throw new AssertionError("block " + b + " read write " + seen + " after write " + expected + " was acknowledged");
                    }
                }
            })));
        }
        threads.add(Thread.ofPlatform().start(() -> run(failure, done, () -> {
            while (!done.get()) {
                store.packNow();
                store.collectGarbage();
            }
        })));
        long until = System.nanoTime() + Duration.ofSeconds(4).toNanos();
        while (System.nanoTime() < until && failure.get() == null) {
            Thread.sleep(50);
        }
        done.set(true);
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        GarbageCollector.Totals totals = store.collectGarbage();
        assertTrue(totals.versionsDropped() > 0 && totals.segmentsRewritten() > 0,
                "the race ran against collection that dropped and rewrote: " + totals);
        for (int b = 0; b < blocks; b++) {
            assertEquals(b + "@" + acked.get(b), marker(store.readPage(REL, b, 0).data()));
        }
    }

    interface Body {
        void run() throws Exception;
    }

    static void run(AtomicReference<Throwable> failure, AtomicBoolean done, Body body) {
        try {
            body.run();
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
            done.set(true);
        }
    }
}
