package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.lease.LeaseStore;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.Manifest;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pgformat.RelTag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A writer that another one replaced stops acknowledging at once: its callers get errors, never a false success. */
class WriterFencingTest {
    static final FrameCodec CODEC = PageStoreTest.CODEC;
    static final RelTag REL = new RelTag(1663, 5, 16384, 0);

    @TempDir
    Path tmp;
    ObjectStore bucket;
    PageStore store;

    @BeforeEach
    void open() throws IOException {
        bucket = ObjectStores.open(tmp.resolve("bucket").toString(), null);
        // No packing on its own, a lease renewed every 100 ms.
        store = PageStore.open(bucket, CODEC, StoreOptions.defaults(tmp.resolve("cache"))
                .withPacking(Long.MAX_VALUE, Duration.ofDays(1)).withLease(Duration.ofMillis(300), false));
    }

    @AfterEach
    void close() throws IOException {
        store.close();
        bucket.close();
    }

    void putDurable(int block, long lsn) throws IOException {
        store.commit(JournalRecord.newBuilder().addPages(PageVersionRecord.newBuilder().setRel(RelTagRecords.toRecord(REL))
                .setBlockNum(block).setLsn(lsn).setData(ByteString.copyFrom(PageStoreTest.page(lsn, "b" + block)))), true);
    }

    @Test
    void objectsCarryTheWriterGenerationAndTheManifestNamesTheJournalWithUnpackedWrites() throws IOException {
        putDurable(1, 10);
        store.packNow();
        Manifest m = new ManifestStore(bucket, CODEC).load().orElseThrow();
        assertEquals(store.writerGeneration(), m.getWriterGeneration());
        assertEquals(Files.readString(tmp.resolve("cache/journal/IDENTITY")).strip(), m.getUnpacked().getJournal(),
                "while it runs, the bucket says where its unpacked writes are");
        try (Stream<Path> s = Files.list(tmp.resolve("bucket/segments"))) {
            for (Path seg : s.toList()) {
                assertEquals(store.writerGeneration(),
                        BucketLayout.Segment.parse("segments/" + seg.getFileName()).orElseThrow().generation());
            }
        }
        store.drain();
        Manifest clean = new ManifestStore(bucket, CODEC).load().orElseThrow();
        assertTrue(!clean.hasUnpacked(), "a clean stop clears the mark");
        assertEquals(clean.getPackedSeq(), store.lastSeq());
    }

    @Test
    void aWriterWhoseManifestCompareAndSwapIsTakenOverFailsItsNextDurableWrite() throws IOException {
        putDurable(1, 10);
        ManifestStore rogue = new ManifestStore(bucket, CODEC);
        Manifest m = rogue.load().orElseThrow();
        rogue.commit(m.toBuilder().setGeneration(m.getGeneration() + 1).setWriterGeneration(m.getWriterGeneration() + 1).build());

        assertThrows(ManifestStore.ManifestConflictException.class, store::packNow);
        IOException e = assertThrows(IOException.class, () -> putDurable(2, 20));
        assertTrue(e.getMessage().contains("no longer the writer"), e.getMessage());
        assertThrows(IOException.class, store::awaitAllDurable, "nothing is acknowledged after the fence");
        assertThrows(IOException.class, store::drain, "a replaced writer does not drain over the new one");
    }

    @Test
    void aWriterWhoseLeaseIsTakenOverFailsItsNextDurableWrite() throws Exception {
        putDurable(1, 10);
        LeaseStore rogue = new LeaseStore(bucket, CODEC, BucketLayout.WRITER_LEASE, Clock.systemUTC(), Duration.ofSeconds(30));
        rogue.take(rogue.read().orElseThrow(), 0, "rogue/1", "rogue-journal", "/nowhere");
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (store.fenced() == null) { // the renewer runs every 100 ms; bounded wait for it to notice
            assertTrue(System.nanoTime() < deadline, "the lease renewal never noticed the takeover");
            Thread.sleep(20);
        }
        IOException e = assertThrows(IOException.class, () -> putDurable(2, 20));
        assertTrue(e.getMessage().contains("rogue/1"), "names who took over: " + e.getMessage());
    }
}
