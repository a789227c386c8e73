package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.pgformat.BufferTag;
import org.dbfs.walservice.archive.ArchiveCatalog;
import org.dbfs.walservice.archive.ArchiveReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the WAL service under pgbench: no acknowledged commit lost, the archive one gapless copy of
 * the primary's WAL, and the per-page index equal to pg_waldump for pgbench's pages (no record missed, none twice).
 */
class WalServiceCrashTest {
    @TempDir
    Path tmp;

    @Test
    void killNineDuringPgbenchLosesNothingAndArchivesEveryByteOnce() throws Exception {
        try (PrimaryWithWalService p = PrimaryWithWalService.start(tmp)) {
            Path work = tmp.resolve("bench");
            java.nio.file.Files.createDirectories(work);
            PostgresCluster.chownToPostgres(work);
            WalServiceProcess svc = p.startService();
            try {
                p.pg.pgbench(work, "-i", "-s", "2", "-q");
                long benchStart = System.nanoTime();
                CompletableFuture<String> bench = CompletableFuture.supplyAsync(() -> {
                    try {
                        return p.pg.pgbench(work, "-T", "15", "-c", "2");
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                int kills = 0;
                for (int kill = 0; kill < 2 && !bench.isDone(); kill++) {
                    long seen = svc.positions().getFlushedLsn();
                    WalServiceProcess running = svc;
                    try {
                        await("pgbench commits to flow through the service", 30, () -> running.positions().getFlushedLsn() > seen + (16 << 10) || bench.isDone());
                    } catch (AssertionError e) {
                        throw new AssertionError(e.getMessage() + "; service log:\n" + running.log() + "\nthreads:\n" + running.threadDump()
                                + "\nactivity: " + p.pg.queryLong("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'")
                                + "\nprimary log:\n" + p.pg.log(), e);
                    }
                    System.out.printf("kill -9 at flushed %s indexed %s (%.1f s into pgbench)%n", fmt(svc.positions().getFlushedLsn()),
                            fmt(svc.positions().getIndexedLsn()), (System.nanoTime() - benchStart) / 1e9);
                    if (bench.isDone()) {
                        break;
                    }
                    svc.kill9();
                    kills++;
                    svc = p.startService();
                }
                String out = bench.get(120, TimeUnit.SECONDS);
                assertTrue(kills >= 1, "the service was killed while pgbench ran: " + kills);
                System.out.println("kill -9 count during pgbench: " + kills);
                assertTrue(out.contains("number of failed transactions: 0"), out);
                long lastAck = p.lsn("pg_current_wal_flush_lsn()");
                long flushed = svc.positions().getFlushedLsn();
                assertTrue(flushed >= lastAck, "every acknowledged commit is durable in the service: flushed=" + fmt(flushed)
                        + " primary flush at the last ack=" + fmt(lastAck));

                WalServiceProcess last = svc;
                long end = p.switchWalAndAwaitArchive(last, 60);

                try (ObjectStore store = p.openBucket()) {
                    ArchiveReader reader = p.archiveReader(store);
                    ArchiveCatalog catalog = p.assertArchiveEqualsPrimaryWal(reader, end);
                    assertTrue(catalog.end() >= end);
                    System.out.printf("archive: %d objects %s..%s%n", catalog.objects().size(), fmt(catalog.start()), fmt(catalog.end()));
                    assertArrayEquals(p.primaryWal(end - 100, end), reader.read(end - 100, end));

                    // The index, built across the kills, has no gap and no duplicate: per page it equals pg_waldump.
                    await("the index to pass the WAL switch", 60, () -> {
                        var pos = last.positions();
                        assertEquals("", pos.getIndexError());
                        return pos.getIndexedLsn() >= end;
                    });
                    PgWaldumpOracle oracle = PgWaldumpOracle.dump(p.pg.dataDir().resolve("pg_wal"), catalog.start(), end, tmp);
                    WalPageIndexTest.Rels rels = WalPageIndexTest.Rels.of(p);
                    List<BufferTag> keys = oracle.pick(List.of(rels.branches(), rels.tellers()), List.of(rels.accounts(), rels.accountsPkey()));
                    int compared = oracle.assertIndexEquals(last, keys, end);
                    System.out.printf("index after %d kills == pg_waldump for %d pages (%d records of %d)%n", kills, keys.size(), compared,
                            oracle.records);
                }
            } finally {
                svc.close();
            }
        }
    }
}
