package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.dbfs.bucket.objectstore.S3ProxyServer;
import org.dbfs.protocol.pageserver.v1.ServerInfoReply;
import org.dbfs.protocol.pageserver.v1.ServerInfoRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An S3-compatible server that misbehaves under load, one fault after another on one stack: 10 %
 * of PUTs answered with 500 (half of them after the object was stored, among them conditional
 * writes whose SDK retry then meets its own object), then every request slowed down, then the
 * server stopped for 60 s. Commits go on from the journal throughout, the page server catches up
 * once the store is back, and the bucket alone (a clean stop, then a new cache directory) holds
 * every acknowledged transfer, each once. Phase length of the first two:
 * {@code -Ddbfs.faults.s3PhaseSeconds} (CI 15).
 */
class S3FaultTest {
    private static final int PHASE_SECONDS = Integer.getInteger("dbfs.faults.s3PhaseSeconds", 15);
    private static final long SLOW_MILLIS = 300;
    private static final long OUTAGE_SECONDS = 60;

    @TempDir
    Path tmp;

    @Test
    void failedSlowAndStoppedStoreLosesAndDuplicatesNothing() throws Exception {
        Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
        try (S3ProxyServer s3 = S3ProxyServer.start(tmp.resolve("s3"));
             S3FaultProxy faults = S3FaultProxy.start(s3.endpoint());
             DbfsStack stack = DbfsStack.onS3(s3, faults.endpoint(), tmp.resolve("stack"), "--pack-interval-ms", "1000")) {
            stack.startPageServer();
            stack.mount();
            PostgresCluster pg = PostgresCluster.initdb(stack.dataDirectory(), work, List.of(PostgresOnDbfsTest.PRIMARY_CONF));
            pg.start();
            long checked;
            try (CheckedLoad load = new CheckedLoad(pg, work, 2)) {
                load.start(2);
                load.awaitCommits("before the faults", 100, 300);

                faults.failPuts(0.10);
                long putsBefore = faults.puts();
                long ackedBefore = load.acknowledged();
                long end = System.nanoTime() + PHASE_SECONDS * 1_000_000_000L;
                // Until each kind happened at least once: a conditional write (the manifest's compare-and-swap)
                // that was stored but answered 500, whose retry then finds its own object.
                while (System.nanoTime() < end || faults.failedBeforeServer() == 0 || faults.conditionalFailedAfterServer() == 0) {
                    load.awaitCommits("while 10 % of PUTs fail", 50, 120);
                }
                System.out.printf("10 %% of PUTs fail: %d PUTs, %d answered 500 before the server, %d after storing (%d of"
                        + " them conditional); %d transfers acknowledged meanwhile%n", faults.puts() - putsBefore,
                        faults.failedBeforeServer(), faults.failedAfterServer(), faults.conditionalFailedAfterServer(),
                        load.acknowledged() - ackedBefore);
                faults.failPuts(0);

                faults.delay(SLOW_MILLIS);
                long requestsBefore = faults.requests();
                ackedBefore = load.acknowledged();
                end = System.nanoTime() + PHASE_SECONDS * 1_000_000_000L;
                while (System.nanoTime() < end) {
                    load.awaitCommits("while every request is slow", 50, 120);
                }
                System.out.printf("every request %d ms slower: %d requests; %d transfers acknowledged meanwhile%n",
                        SLOW_MILLIS, faults.requests() - requestsBefore, load.acknowledged() - ackedBefore);
                faults.delay(0);

                s3.stop(); // the outage: the server is gone, its data stays
                ackedBefore = load.acknowledged();
                long outageEnd = System.nanoTime() + OUTAGE_SECONDS * 1_000_000_000L;
                while (System.nanoTime() < outageEnd) {
                    load.awaitCommits("while the store is down", 50, 120);
                }
                ServerInfoReply during = stack.pageServer().client().serverInfo(ServerInfoRequest.getDefaultInstance());
                System.out.printf("store down for %d s: %d transfers acknowledged from the journal alone; journal seq %d,"
                        + " packed %d%n", OUTAGE_SECONDS, load.acknowledged() - ackedBefore, during.getLastSeq(), during.getPackedSeq());
                assertTrue(during.getPackedSeq() < during.getLastSeq(), "nothing packed while the store is gone");
                s3.restart();

                load.close();
                checked = load.check("after the store's faults");
            }
            awaitPacked(stack);
            long transfers = pg.queryLong("SELECT count(*) FROM transfers");
            long history = pg.queryLong("SELECT count(*) FROM pgbench_history");
            pg.stop();
            assertEquals(0, stack.unmount());
            assertEquals(0, stack.stopPageServerCleanly(), "a clean stop leaves the bucket complete");

            stack.useCacheDir("new-machine"); // the bucket alone
            stack.startPageServer();
            stack.mount();
            pg.start();
            assertEquals(transfers, pg.queryLong("SELECT count(*) FROM transfers"), "the same transfers, each once");
            assertEquals(history, pg.queryLong("SELECT count(*) FROM pgbench_history"));
            assertEquals(BankWorkload.TOTAL, pg.queryLong("SELECT sum(balance) FROM accounts"));
            PostgresOnDbfsTest.assertInvariant(pg);
            assertEquals("", pg.amcheck(work).strip(), "pg_amcheck --heapallindexed");
            pg.stop();
            System.out.printf("S3 faults: %d acknowledged transfers checked, then found in the bucket alone: lost 0,"
                    + " duplicated 0%n", checked);
            assertTrue(faults.failedBeforeServer() > 0 && faults.conditionalFailedAfterServer() > 0);
        }
    }

    private static void awaitPacked(DbfsStack stack) throws InterruptedException {
        ServerInfoReply info = stack.pageServer().client().serverInfo(ServerInfoRequest.getDefaultInstance());
        long last = info.getLastSeq();
        PrimaryWithWalService.await("the page server to catch up with the store", 180,
                () -> stack.pageServer().client().serverInfo(ServerInfoRequest.getDefaultInstance()).getPackedSeq() >= last);
    }
}
