package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.lease.ReaderLease;
import org.dbfs.bucket.lease.ReaderLeases;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PackMark;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pgformat.RelTag;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Garbage collection keeps what reads at or after the horizon need, and nothing else, in memory and in the bucket. */
class GarbageCollectorTest {
    static final FrameCodec CODEC = PageStoreTest.CODEC;
    static final RelTag REL = new RelTag(1663, 5, 16384, 0);

    @TempDir
    Path tmp;
    ObjectStore bucket;
    PageStore store;

    /** Retention 0 (only what the newest state needs), deleted objects go at once, nothing packs on its own. */
    StoreOptions options(Path cacheDir) {
        return StoreOptions.defaults(cacheDir).withPacking(Long.MAX_VALUE, Duration.ofDays(1))
                .withGc(GcOptions.defaults().withRetention(Duration.ZERO).withTiming(Duration.ofDays(1), Duration.ZERO));
    }

    @BeforeEach
    void open() throws IOException {
        bucket = ObjectStores.open(tmp.resolve("bucket").toString(), null);
        store = PageStore.open(bucket, CODEC, options(tmp.resolve("cache")));
    }

    @AfterEach
    void close() throws IOException {
        if (store != null) {
            store.close();
        }
        bucket.close();
    }

    void put(int block, long lsn) throws IOException {
        store.commit(JournalRecord.newBuilder().addPages(PageVersionRecord.newBuilder().setRel(RelTagRecords.toRecord(REL))
                .setBlockNum(block).setLsn(lsn).setData(ByteString.copyFrom(PageStoreTest.page(lsn, "v" + lsn)))), true);
    }

    long lsnAsOf(int block, long lsn) {
        PageStore.StoredBlock b = store.readPage(REL, block, lsn);
        return b == null ? -1 : b.lsn();
    }

    List<Path> segmentObjects() throws IOException {
        try (Stream<Path> s = Files.list(tmp.resolve("bucket/segments"))) {
            return s.filter(p -> p.toString().endsWith(".seg")).sorted().toList();
        }
    }

    @Test
    void oldVersionsGoFromMemoryAndBucketAndReadsBelowTheHorizonAreRefused() throws IOException {
        for (long lsn = 10; lsn <= 50; lsn += 10) {
            put(1, lsn);
        }
        put(2, 15);
        store.packNow();
        assertEquals(20, lsnAsOf(1, 25), "before collection every version reads");
        long sizeBefore = Files.size(segmentObjects().getFirst());

        GarbageCollector.Totals t = store.collectGarbage();
        assertEquals(4, t.versionsDropped(), "block 1 keeps only lsn 50; block 2 its one version");
        assertEquals(1, t.segmentsRewritten(), "the segment was mostly dead: rewritten with its live versions");
        assertEquals(50, lsnAsOf(1, 0));
        assertEquals(50, lsnAsOf(1, 50));
        assertEquals(15, lsnAsOf(2, 50));
        BeforeHorizonException e = assertThrows(BeforeHorizonException.class, () -> store.readPage(REL, 1, 25));
        assertTrue(e.getMessage().contains("0/32"), "names the horizon (0/32 = LSN 50): " + e.getMessage());
        List<Path> segments = segmentObjects();
        assertEquals(1, segments.size(), "the rewritten segment's object is deleted (grace 0): " + segments);
        assertTrue(Files.size(segments.getFirst()) < sizeBefore / 2, "the bucket shrank");

        // The bucket alone says the same after a clean stop.
        store.drain();
        store.close();
        store = PageStore.open(bucket, CODEC, options(tmp.resolve("fresh-cache")));
        assertArrayEquals(PageStoreTest.page(50, "v50"), store.readPage(REL, 1, 0).data());
        assertEquals(15, lsnAsOf(2, 0));
        assertThrows(BeforeHorizonException.class, () -> store.readPage(REL, 1, 25), "the horizon is kept in the manifest");
    }

    @Test
    void afterABranchTheOldTimelinesVersionsBeyondItAreGarbageAndWhatItSeesBelowIsKept() throws IOException {
        FileSystemOps fs = new FileSystemOps(store);
        assertEquals(0, fs.makeNode(MakeNodeRequest.newBuilder().setPath("/rel").setType(NodeType.REGULAR)
                .setRel(org.dbfs.protocol.pageserver.RelTagMessages.toMessage(REL)).build()).reply().getErrno());
        put(1, 10);
        put(1, 50); // the old primary, beyond the branch
        put(2, 50);
        put(3, 10);
        store.packNow();
        TimelineBranch.apply(store, org.dbfs.protocol.pageserver.v1.BranchRequest.newBuilder().setTimeline(2).setBranchLsn(30)
                .addEntries(org.dbfs.protocol.pageserver.v1.BranchEntry.newBuilder().setPath("/rel").setType(NodeType.REGULAR)
                        .setRel(org.dbfs.protocol.pageserver.RelTagMessages.toMessage(REL)).setSize(4 * 8192)).build());
        put(1, 40);
        store.packNow();
        GarbageCollector.Totals t = store.collectGarbage();
        assertEquals(3, t.versionsDropped(), "block 1 drops 10 (superseded at the horizon 40) and 50; block 2 its 50");
        assertEquals(40, lsnAsOf(1, 0));
        assertEquals(-1, lsnAsOf(2, 0));
        assertEquals(10, lsnAsOf(3, 0), "the old timeline's version below the branch is the new one's too");
        assertEquals(10, lsnAsOf(3, 40));
    }

    @Test
    void aLiveReaderLeaseKeepsWhatItsLsnNeedsUntilItGoes() throws IOException {
        ReaderLeases readers = new ReaderLeases(bucket, CODEC, Clock.systemUTC());
        readers.hold("replica-1", 25, "test", Duration.ofMinutes(5));
        for (long lsn = 10; lsn <= 50; lsn += 10) {
            put(1, lsn);
        }
        store.packNow();
        store.collectGarbage();
        assertEquals(20, lsnAsOf(1, 25), "the reader at 25 still reads its version");
        assertEquals(30, lsnAsOf(1, 35));
        assertThrows(BeforeHorizonException.class, () -> store.readPage(REL, 1, 15));

        readers.release("replica-1");
        store.collectGarbage();
        assertThrows(BeforeHorizonException.class, () -> store.readPage(REL, 1, 25), "once the reader is gone, so is its history");
        assertEquals(50, lsnAsOf(1, 50));
    }

    @Test
    void aReaderRegisteredThroughThePageServerIsHonouredAndOneBelowTheHorizonIsRefused() throws IOException {
        for (long lsn = 10; lsn <= 50; lsn += 10) {
            put(1, lsn);
        }
        store.packNow();
        store.readers().hold("replica-a", 25, "host:/overlay", Duration.ofMinutes(5));
        store.collectGarbage();
        assertEquals(20, lsnAsOf(1, 25), "the replica holding 25 still reads its version");

        store.readers().release("replica-a");
        store.collectGarbage();
        BeforeHorizonException late = assertThrows(BeforeHorizonException.class,
                () -> store.readers().hold("replica-b", 25, "host:/other", Duration.ofMinutes(5)));
        assertTrue(late.getMessage().contains("replica-b") && late.getMessage().contains("0/32"),
                "a claim below the horizon is refused, naming the reader and the horizon: " + late.getMessage());
        assertTrue(new ReaderLeases(bucket, CODEC, Clock.systemUTC()).live().isEmpty(), "and nothing was registered");
    }

        @Test
    void anUnlinkedFilesBlocksGoOnceItIsGoneSinceBeforeTheHorizon() throws IOException {
        FileSystemOps fs = new FileSystemOps(store);
        long ino = fs.makeNode(MakeNodeRequest.newBuilder().setPath("/pg_stat_tmp.tmp").setType(NodeType.REGULAR)
                .setMode(0600).build()).reply().getAttr().getIno();
        fs.writeFile(WriteFileRequest.newBuilder().setIno(ino).setOffset(0).setData(ByteString.copyFrom(new byte[20000])).build());
        store.packNow();
        assertEquals(0, fs.remove("/pg_stat_tmp.tmp", false).reply().getErrno());
        store.packNow();
        store.collectGarbage(); // notices the file gone, at the current seq
        assertTrue(store.readFileBlock(ino, 0) != null, "still readable by inode (it may be open)");
        put(1, 10); // the history moves on past the unlink
        store.packNow();
        GarbageCollector.Totals t = store.collectGarbage();
        assertEquals(3, t.blocksDropped(), "its three blocks");
        assertNull(store.readFileBlock(ino, 0));
    }

    @Test
    void theHorizonIsTheOlderOfTheWindowAndTheOldestReader() {
        Instant now = Instant.parse("2026-12-06T12:00:00Z");
        List<PackMark> marks = List.of(mark(now.minusSeconds(300), 10, 1000), mark(now.minusSeconds(90), 20, 2000),
                mark(now.minusSeconds(30), 30, 3000));
        Horizon window = Horizon.compute(marks, now, Duration.ofSeconds(60), List.of(), 30, 3000, -1L);
        assertEquals(2000, window.lsn(), "the newest pack at least 60 s old");
        assertEquals(20, window.seq());
        Horizon nothingOldEnough = Horizon.compute(marks, now, Duration.ofHours(1), List.of(), 30, 3000, -1L);
        assertEquals(Horizon.NONE.lsn(), nothingOldEnough.lsn());
        ReaderLease reader = new ReaderLease("r", 1500, "test", now.plusSeconds(60));
        Horizon held = Horizon.compute(marks, now, Duration.ofSeconds(60), List.of(reader), 30, 3000, -1L);
        assertEquals(1500, held.lsn());
        assertEquals(10, held.seq(), "the newest pack at or below the reader's LSN");
        assertEquals(List.of(marks.get(1), marks.get(2)), Horizon.trim(marks, now, Duration.ofSeconds(60)));
        assertEquals(3000, new Horizon(3000, 30, "x").atLeast(held).lsn(), "a horizon never moves back");
        Horizon notPastDurableWal = Horizon.compute(marks, now, Duration.ofSeconds(60), List.of(), 30, 3000, 1800);
        assertEquals(1800, notPastDurableWal.lsn(), "page versions past the WAL service's durable end may be a failover's to drop");
        assertEquals(10, notPastDurableWal.seq());
        assertTrue(notPastDurableWal.why().contains("WAL service"), notPastDurableWal.why());
        assertEquals(1500, Horizon.compute(marks, now, Duration.ofSeconds(60), List.of(reader), 30, 3000, 1800).lsn(),
                "an older reader still wins");
    }

    static PackMark mark(Instant t, long seq, long lsn) {
        return PackMark.newBuilder().setTimeMs(t.toEpochMilli()).setSeq(seq).setMaxLsn(lsn).build();
    }
}
