package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pgformat.RelTag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** With the bucket unreachable, writes go on into the journal up to --max-journal, then wait; they resume when it returns. */
class JournalLimitTest {
    static final RelTag REL = new RelTag(1663, 5, 16390, 0);
    static final int PAGES = 60;
    static final long MAX_UNPACKED = 200_000; // about 24 pages

    @TempDir
    Path tmp;

    @Test
    void writesWaitAtTheLimitWhileTheBucketIsDownAndResumeWhenItReturns() throws Exception {
        OutageObjectStore bucket = new OutageObjectStore(ObjectStores.open(tmp.resolve("bucket").toString(), null));
        PageStore store = PageStore.open(bucket, PageStoreTest.CODEC, StoreOptions.defaults(tmp.resolve("cache"))
                .withPacking(Long.MAX_VALUE, Duration.ofMillis(100)).withMaxUnpacked(MAX_UNPACKED));
        try {
            bucket.down = true;
            AtomicInteger written = new AtomicInteger();
            AtomicReference<Exception> failed = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                try {
                    for (int block = 0; block < PAGES; block++) {
                        store.commit(JournalRecord.newBuilder().addPages(PageVersionRecord.newBuilder()
                                .setRel(RelTagRecords.toRecord(REL)).setBlockNum(block).setLsn(100 + block)
                                .setData(ByteString.copyFrom(PageStoreTest.page(100 + block, "b" + block)))), true);
                        written.incrementAndGet();
                    }
                } catch (Exception e) {
                    failed.set(e);
                }
            });
            writer.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (writer.getState() != Thread.State.TIMED_WAITING || written.get() == 0) {
                assertTrue(System.nanoTime() < deadline, "the writer never waited; wrote " + written.get());
                Thread.sleep(10); // polling the writer's state with a deadline
            }
            int atLimit = written.get();
            assertTrue(atLimit < PAGES, "writes stop at the limit: " + atLimit);
            assertTrue(atLimit * 8192L <= MAX_UNPACKED + 8192, "no more than the limit (+ one write) waits: " + atLimit);
            assertNull(failed.get(), "a write waits; it does not fail");

            bucket.down = false; // the packer's next retry (backoff 1 s, 2 s, ...) drains the journal
            writer.join(60_000);
            assertNull(failed.get());
            assertEquals(PAGES, written.get(), "every write went through once the bucket came back");
            for (int block = 0; block < PAGES; block++) {
                assertArrayEquals(PageStoreTest.page(100 + block, "b" + block), store.readPage(REL, block, 0).data());
            }
        } finally {
            store.close();
            bucket.close();
        }
    }
}
