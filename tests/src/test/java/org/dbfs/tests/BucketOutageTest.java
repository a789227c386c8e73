package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.dbfs.bucket.objectstore.S3ProxyServer;
import org.dbfs.protocol.pageserver.v1.ServerInfoRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The S3-compatible server goes away for 60 s in the middle of pgbench: commits go on from the
 * journal, the page server catches up once the bucket is back, and the bucket alone then holds
 * the whole state (a clean stop, then a new cache directory).
 */
class BucketOutageTest {
    static final long OUTAGE_SECONDS = 60;

    @TempDir
    Path tmp;

    @Test
    void commitsContinueThroughABucketOutageAndTheBucketCatchesUp() throws Exception {
        try (S3ProxyServer s3 = S3ProxyServer.start(tmp.resolve("s3"))) {
            try (DbfsStack stack = DbfsStack.onS3(s3, tmp.resolve("stack"), "--pack-interval-ms", "2000")) {
                stack.startPageServer();
                stack.mount();
                Path work = tmp.resolve("pg");
                try (PostgresCluster pg = PostgresCluster.initdb(stack.dataDirectory(), work,
                        List.of(PostgresOnDbfsTest.PRIMARY_CONF))) {
                    pg.start();
                    pg.pgbench(work, "-i", "-s", "5", "-q");
                    AtomicReference<String> run = new AtomicReference<>();
                    AtomicReference<Exception> failed = new AtomicReference<>();
                    Thread load = new Thread(() -> {
                        try {
                            run.set(pg.pgbench(work, "-c", "2", "-j", "2", "-T", Long.toString(OUTAGE_SECONDS + 60)));
                        } catch (Exception e) {
                            failed.set(e);
                        }
                    });
                    load.start();
                    load.join(15_000); // some load before the outage
                    s3.stop();
                    long atStop = pg.queryLong("SELECT count(*) FROM pgbench_history");
                    load.join(OUTAGE_SECONDS * 1000);
                    long atRestart = pg.queryLong("SELECT count(*) FROM pgbench_history");
                    var info = stack.pageServer().client().serverInfo(ServerInfoRequest.getDefaultInstance());
                    System.out.printf("outage: %d commits during %d s without the bucket; journal seq %d, packed %d%n",
                            atRestart - atStop, OUTAGE_SECONDS, info.getLastSeq(), info.getPackedSeq());
                    assertTrue(atRestart - atStop > 100, "commits continue from the journal: " + (atRestart - atStop));
                    assertTrue(info.getPackedSeq() < info.getLastSeq(), "nothing packed while the bucket is gone");
                    s3.restart();
                    load.join(300_000);
                    assertEquals(null, failed.get());
                    assertTrue(run.get().contains("number of failed transactions: 0"), run.get());
                    PostgresOnDbfsTest.assertInvariant(pg);

                    long last = stack.pageServer().client().serverInfo(ServerInfoRequest.getDefaultInstance()).getLastSeq();
                    long deadline = System.nanoTime() + 120_000_000_000L;
                    while (stack.pageServer().client().serverInfo(ServerInfoRequest.getDefaultInstance()).getPackedSeq() < last) {
                        assertTrue(System.nanoTime() < deadline, "the page server did not catch up with the bucket");
                        Thread.sleep(200); // polling the packer's progress with a deadline
                    }
                    long[] before = PostgresOnDbfsTest.counts(pg);
                    pg.stop();
                    assertEquals(0, stack.unmount());
                    assertEquals(0, stack.stopPageServerCleanly());
                    stack.useCacheDir("new-machine");
                    stack.startPageServer();
                    stack.mount();
                    pg.start();
                    PostgresOnDbfsTest.assertInvariant(pg);
                    assertArrayEquals(before, PostgresOnDbfsTest.counts(pg));
                }
            }
        }
    }
}
