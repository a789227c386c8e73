package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ENOSPC where DbFS keeps local state, each on a small tmpfs filled under load: the page server's
 * cache directory (its journal), and the WAL service's data directory. Writes fail to PostgreSQL
 * as "No space left on device" (or commits wait), never as a false success; once space is freed
 * the stack goes on, and every acknowledged commit is there.
 */
class FullDiskTest {
    @TempDir
    Path tmp;

    @Test
    void aFullPageServerCacheDirectoryFailsWritesWithEnospcAndLosesNothing() throws Exception {
        Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"));
             SmallDisk disk = SmallDisk.mount(stack.cacheDir(), 384)) {
            int port = PostgresCluster.freePort();
            stack.usePort(port);
            stack.startPageServer();
            try (MountProcess mount = MountProcess.start(List.of("--rw", "--pageserver", "127.0.0.1:" + port), stack.mountPoint(),
                    tmp.resolve("logs"))) {
                PostgresCluster pg = PostgresCluster.initdb(stack.dataDirectory(), work, List.of(PostgresOnDbfsTest.PRIMARY_CONF));
                pg.start();
                try (CheckedLoad load = new CheckedLoad(pg, work, 2)) {
                    load.start(2);
                    load.awaitCommits("before the disk fills", 100, 300);
                    long ballast = disk.fill();
                    long ackedAtFull = load.acknowledged();
                    await("PostgreSQL to report the full disk", 300, () -> logMentions(pg, "No space left on device"));
                    long ackedWhileFull = load.acknowledged() - ackedAtFull;
                    assertTrue(stack.pageServer().stderr().contains("no space left on the device holding"),
                            "the page server names the full device");
                    disk.free();
                    pg.ensureRunning();
                    load.awaitCommits("after space was freed", 100, 300);
                    long checked = load.checkRecovering("after the cache directory was full");
                    System.out.printf("cache directory full: ballast %d MB; %d transfers acknowledged while full (before the"
                            + " journal needed room), then ENOSPC to PostgreSQL; after freeing %d acknowledged transfers checked,"
                            + " none lost%n", ballast >> 20, ackedWhileFull, checked);
                }
                assertEquals("", pg.amcheck(work).strip(), "pg_amcheck --heapallindexed");
                pg.stop();
            }
        }
    }

    @Test
    void aFullWalServiceDataDirectoryHoldsCommitsBackAndLosesNothing() throws Exception {
        try (PrimaryWithWalService p = PrimaryWithWalService.start(tmp);
             SmallDisk disk = SmallDisk.mount(p.dataDir, 96)) {
            Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
            WalServiceProcess svc = p.startService();
            try (CheckedLoad load = new CheckedLoad(p.pg, work, 2)) {
                load.start(2);
                load.awaitCommits("before the disk fills", 100, 300);
                long ballast = disk.fill();
                long ackedAtFull = load.acknowledged();
                WalServiceProcess full = svc;
                await("the WAL service to report the full disk", 300, () -> logMentions(full, "No space left on device"));
                long flushedWhileFull = svc.positions().getFlushedLsn();
                long ackedWhileFull = load.acknowledged() - ackedAtFull;
                disk.free();
                load.awaitCommits("after space was freed", 100, 300);
                long checked = load.check("after the WAL service's disk was full");
                assertTrue(svc.isAlive(), "the WAL service rode out the full disk");

                // What the service acknowledged is exactly the primary's WAL: nothing lost or written twice.
                load.close();
                long end = p.switchWalAndAwaitArchive(svc, 120);
                try (ObjectStore store = p.openBucket()) {
                    p.assertArchiveEqualsPrimaryWal(p.archiveReader(store), end);
                }
                System.out.printf("WAL service data directory full: ballast %d MB; flushed at %s when it reported the full disk;"
                        + " %d transfers acknowledged while full; after freeing %d acknowledged transfers checked, none lost;"
                        + " archive equals pg_wal up to %s%n", ballast >> 20, fmt(flushedWhileFull), ackedWhileFull, checked, fmt(end));
            } finally {
                svc.close();
            }
        }
    }

    private static boolean logMentions(PostgresCluster pg, String text) {
        try {
            return pg.log().contains(text);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static boolean logMentions(WalServiceProcess svc, String text) {
        try {
            return svc.log().contains(text);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
