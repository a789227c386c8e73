package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.dbfs.protocol.pageserver.v1.BranchInfo;
import org.dbfs.protocol.pageserver.v1.CreateBranchRequest;
import org.dbfs.protocol.pageserver.v1.DeleteBranchRequest;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnRequest;
import org.dbfs.protocol.pageserver.v1.GetPagesRequest;
import org.dbfs.protocol.pageserver.v1.PageRef;
import org.dbfs.protocol.pageserver.v1.RelTag;
import org.dbfs.protocol.pageserver.v1.ListBranchesRequest;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;
import org.dbfs.protocol.pageserver.v1.ResolvePointRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writable branch (docs/branches.md): a table changed in two phases, the branch created at the
 * second, served by a page server of its own on the parent bucket's prefix branches/b1 that reads
 * every page it has not written from the parent, pinned to the branch point. PostgreSQL on a
 * read-write mount of it replays the parent's WAL to the point and promotes: the tables are
 * exactly the parent's at the point. Then both write, and neither sees the other's rows; pgbench's
 * invariant holds on both. The parent bucket does not grow from the branch's writes, and the
 * branch's prefix holds about what it changed. With a 20 s retention on the parent, a table the
 * branch never read stays as it was at the point after the parent rewrote it and collected past it
 * (the pin); deleting the branch empties its prefix and drops the pin.
 */
class BranchTest {
    @TempDir
    Path tmp;

    @Test
    void aBranchAndItsParentNeverSeeEachOthersWrites() throws Exception {
        Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
        int walPort = PostgresCluster.freePort();
        try (DbfsStack parent = DbfsStack.onLocalBucket(tmp.resolve("parent"))) {
            parent.startPageServer(List.of("--walservice", "127.0.0.1:" + walPort, "--snapshot-check", "500ms",
                    "--retention", "20s", "--gc-interval", "1s", "--gc-grace", "1s", "--pack-interval-ms", "500"));
            parent.mount();
            int parentPort = parent.pageServer().port();
            Path bucket = parent.root().resolve("bucket");
            try (PostgresCluster primary = PostgresCluster.initdb(parent.dataDirectory(), work.resolve("primary"),
                    List.of(PostgresOnDbfsTest.PRIMARY_CONF, PrimaryWithWalService.CONF))) {
                primary.start();
                WalServiceProcess svc = WalServiceProcess.start("host=127.0.0.1 port=" + primary.port() + " user=postgres",
                        tmp.resolve("wal-bucket"), tmp.resolve("walservice"), tmp.resolve("logs"), walPort);
                try {
                    primary.pgbench(work, "-i", "-s", "5", "-q");
                    TimeTravelTest.execute(primary, "CREATE TABLE untouched (id int PRIMARY KEY, v text)",
                            "INSERT INTO untouched SELECT g, 'at-the-point-' || g FROM generate_series(1, 20000) g",
                            "VACUUM untouched", "SELECT pg_switch_wal()");
                    TimeTravelTest.checkpointAndAwaitSnapshot(primary, parentPort);
                    TimeTravelTest.execute(primary, "CREATE TABLE tt (id int PRIMARY KEY, v text)",
                            "INSERT INTO tt SELECT g, 'one-' || g FROM generate_series(1, 2000) g",
                            "UPDATE tt SET v = 'two-' || id WHERE id % 2 = 0");
                    long x = primary.queryLong("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint");
                    String tt = TimeTravelTest.hash(primary, "tt");
                    String untouched = TimeTravelTest.hash(primary, "untouched");
                    String accounts = TimeTravelTest.queryText(primary, "SELECT sum(abalance) || '/' || count(*) FROM pgbench_accounts");

                    BranchInfo b = createBranch(parentPort, "b1", x);
                    System.out.printf("branch b1 at %s (asked %s): timeline %d, cut seq %d, snapshot %s%n", fmt(b.getXEnd()),
                            fmt(x), b.getTimeline(), b.getParentCutSeq(), b.getSnapshot());
                    assertTrue(b.getXEnd() <= x);
                    badInputIsRefused(parentPort, x);

                    DbfsStack branch = new DbfsStack(tmp.resolve("branch"),
                            List.of("--bucket", bucket.toUri() + "branches/b1"), Map.of("DBFS_PASSPHRASE", DbfsStack.PASSPHRASE));
                    long branchBytes;
                    WalServiceProcess branchWal = null;
                    try (branch) {
                        branch.startPageServer(List.of("--parent-pageserver", "127.0.0.1:" + parentPort, "--branch", "b1",
                                "--pack-interval-ms", "500"));
                        branch.mountBranch("b1");
                        String restore = WalServiceForPostgres.restoreCommand(tmp.resolve("walservice-command"),
                                tmp.resolve("wal-bucket"));
                        try (PostgresCluster bpg = PostgresCluster.configured(branch.mountPoint(), work.resolve("branch"),
                                "restore_command = '" + restore.replace("'", "''") + "'\n")) {
                        long started = System.nanoTime();
                        bpg.start();
                        await("the branch to finish recovery at its point and promote", 180,
                                () -> "f".equals(inRecovery(bpg)));
                        long timeline = bpg.queryLong("SELECT timeline_id FROM pg_control_checkpoint()");
                        System.out.printf("branch b1: a primary on timeline %d after %d ms%n", timeline,
                                (System.nanoTime() - started) / 1_000_000);
                        assertTrue(timeline > 1, "the branch promoted onto a timeline of its own");
                        assertEquals(tt, TimeTravelTest.hash(bpg, "tt"), "the branch starts with the parent's table at the point");
                        assertEquals(accounts, TimeTravelTest.queryText(bpg,
                                "SELECT sum(abalance) || '/' || count(*) FROM pgbench_accounts"));

                        // Its own WAL service, slot and archive: a first start on a primary that is on a
                        // timeline of its own from the branch point.
                        branchWal = WalServiceProcess.start("host=127.0.0.1 port=" + bpg.port() + " user=postgres",
                                tmp.resolve("branch-wal-bucket"), tmp.resolve("branch-walservice"), tmp.resolve("logs"));
                        TimeTravelTest.execute(bpg, "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (walservice)'",
                                "SELECT pg_reload_conf()");

                        long parentBefore = parentBytes(bucket);
                        TimeTravelTest.execute(bpg, "UPDATE tt SET v = 'branch-' || id",
                                "INSERT INTO tt SELECT g, 'branch-new' FROM generate_series(100001, 101000) g");
                        System.out.println(lastLine(bpg.pgbench(work, "-c", "2", "-T", "10")));
                        PostgresOnDbfsTest.assertInvariant(bpg);
                        TimeTravelTest.execute(bpg, "CHECKPOINT");
                        long branchEnd = bpg.queryLong("SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint");
                        var followed = branchWal.positions();
                        System.out.printf("branch WAL service: timeline %d, flushed %s (the branch's WAL ends at %s)%n",
                                followed.getTimeline(), fmt(followed.getFlushedLsn()), fmt(branchEnd));
                        assertEquals(timeline, followed.getTimeline(), "the branch's WAL service follows its timeline");
                        assertTrue(followed.getFlushedLsn() >= branchEnd, "the branch's synchronous commits reached its WAL service");
                        await("the branch's page server to pack its writes", 30, () -> branchBytes(bucket) > 0);
                        long parentAfter = parentBytes(bucket);
                        System.out.printf("parent bucket (without branches/): %,d bytes before the branch's writes, %,d after%n",
                                parentBefore, parentAfter);
                        assertTrue(parentAfter - parentBefore < 1 << 20, "the parent bucket grew by the branch's writes: "
                                + parentBefore + " -> " + parentAfter);

                        TimeTravelTest.execute(primary, "UPDATE tt SET v = 'parent-' || id", "UPDATE untouched SET v = 'later'",
                                "VACUUM untouched");
                        System.out.println(lastLine(primary.pgbench(work, "-c", "2", "-T", "10")));
                        PostgresOnDbfsTest.assertInvariant(primary);
                        TimeTravelTest.execute(primary, "CHECKPOINT"); // its pages past the point reach the page server
                        assertEquals(0, bpg.queryLong("SELECT count(*) FROM tt WHERE v LIKE 'parent-%'"), "parent rows on the branch");
                        assertEquals(0, primary.queryLong("SELECT count(*) FROM tt WHERE v LIKE 'branch-%'"), "branch rows on the parent");
                        assertEquals(3000, bpg.queryLong("SELECT count(*) FROM tt"));
                        assertEquals(2000, primary.queryLong("SELECT count(*) FROM tt"));

                        await("the parent's horizon to pass the branch point", 120,
                                () -> Long.compareUnsigned(horizon(parentPort), b.getXEnd()) > 0);
                        bpg.stop();
                        Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3\n");
                        bpg.start();
                        assertEquals(untouched, TimeTravelTest.hash(bpg, "untouched"),
                                "a table the branch never read is the parent's at the point, after the parent collected past it");
                        System.out.printf("parent horizon %s, past the branch point %s; the branch still reads the table as"
                                + " of the point%n", fmt(horizon(parentPort)), fmt(b.getXEnd()));
                        TimeTravelTest.execute(bpg, "CHECKPOINT");
                        bpg.stop();
                        branchWal.close();
                        }
                        branch.unmount();
                        assertEquals(0, branch.stopPageServerCleanly());
                        branchBytes = branchBytes(bucket);
                    } finally {
                        if (branchWal != null) {
                            branchWal.close();
                        }
                    }
                    long db = primary.queryLong("SELECT pg_database_size('postgres')");
                    System.out.printf("branch b1's prefix: %,d bytes (the parent's database %,d bytes, its bucket %,d)%n",
                            branchBytes, db, parentBytes(bucket));
                    assertTrue(branchBytes < db / 2, "the branch holds more than what it changed: " + branchBytes);

                    long deleted = stub(parentPort).deleteBranch(DeleteBranchRequest.newBuilder().setName("b1").build())
                            .getObjectsDeleted();
                    System.out.printf("branch b1 deleted: %d objects%n", deleted);
                    assertEquals(0, branchBytes(bucket), "objects left under branches/b1");
                    assertEquals(0, stub(parentPort).listBranches(ListBranchesRequest.getDefaultInstance()).getBranchesCount());
                    // The pin is gone: no pinned read, and a plain read at the point meets the horizon.
                    PageRef page = PageRef.newBuilder().setRel(RelTag.newBuilder().setSpcNode(1663)
                            .setDbNode((int) primary.queryLong("SELECT oid FROM pg_database WHERE datname = 'postgres'"))
                            .setRelNode((int) primary.queryLong("SELECT pg_relation_filenode('untouched')"))).build();
                    StatusRuntimeException unpinned = assertThrows(StatusRuntimeException.class, () -> stub(parentPort)
                            .getPageAtLsn(GetPageAtLsnRequest.newBuilder().setPage(page).setLsn(b.getXEnd()).setPin("b1").build()));
                    assertEquals(Status.Code.NOT_FOUND, unpinned.getStatus().getCode());
                    StatusRuntimeException horizon = assertThrows(StatusRuntimeException.class, () -> stub(parentPort)
                            .getPages(GetPagesRequest.newBuilder().addPages(page).setAsOfLsn(b.getXEnd()).build()));
                    assertEquals(Status.Code.OUT_OF_RANGE, horizon.getStatus().getCode());
                    System.out.println("after the delete, a read at the point: " + horizon.getStatus().getDescription());
                } finally {
                    svc.close();
                }
            }
        }
    }

    private static void badInputIsRefused(int port, long x) {
        StatusRuntimeException exists = assertThrows(StatusRuntimeException.class, () -> createBranch(port, "b1", x));
        assertEquals(Status.Code.ALREADY_EXISTS, exists.getStatus().getCode());
        System.out.println("again: " + exists.getStatus().getDescription());
        StatusRuntimeException badName = assertThrows(StatusRuntimeException.class, () -> createBranch(port, "Bad Name", x));
        assertEquals(Status.Code.INVALID_ARGUMENT, badName.getStatus().getCode());
        StatusRuntimeException beyond = assertThrows(StatusRuntimeException.class, () -> createBranch(port, "b2", x + (1L << 30)));
        assertEquals(Status.Code.OUT_OF_RANGE, beyond.getStatus().getCode());
        assertTrue(beyond.getStatus().getDescription().contains("Valid range"), beyond.getStatus().getDescription());
        System.out.println("beyond the end: " + beyond.getStatus().getDescription());
    }

    private static BranchInfo createBranch(int port, String name, long lsn) {
        return stub(port).createBranch(CreateBranchRequest.newBuilder().setName(name)
                .setPoint(ResolvePointRequest.newBuilder().setLsn(lsn)).build()).getBranch();
    }

    private static PageServerGrpc.PageServerBlockingStub stub(int port) {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        return PageServerGrpc.newBlockingStub(ch).withDeadlineAfter(120, java.util.concurrent.TimeUnit.SECONDS);
    }

    private static long horizon(int port) {
        try {
            return ReadOnlyReplicaTest.serverInfo(port).getGcHorizonLsn();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String inRecovery(PostgresCluster pg) {
        try {
            return TimeTravelTest.queryText(pg, "SELECT pg_is_in_recovery()");
        } catch (java.sql.SQLException e) {
            return "not yet";
        }
    }

    private static String lastLine(String pgbench) {
        return pgbench.lines().filter(l -> l.startsWith("tps")).findFirst().orElse(pgbench);
    }

    private static long branchBytes(Path bucket) {
        Path prefix = bucket.resolve("branches").resolve("b1");
        return Files.exists(prefix) ? bytes(prefix, null) : 0;
    }

    private static long parentBytes(Path bucket) {
        return bytes(bucket, bucket.resolve("branches"));
    }

    private static long bytes(Path dir, Path except) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> except == null || !p.startsWith(except)).filter(Files::isRegularFile)
                    .mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
