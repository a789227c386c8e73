package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.dbfs.protocol.pageserver.v1.ListSnapshotsReply;
import org.dbfs.protocol.pageserver.v1.ListSnapshotsRequest;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;
import org.dbfs.protocol.pageserver.v1.ResolvePointRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Time travel (docs/time-travel.md): a table changed in three phases, with {@code pg_current_wal_lsn()},
 * the time and a hash of the table recorded after each, while pgbench keeps the primary busy. A
 * time-travel mount at each recorded LSN, and at each recorded time, runs a stock PostgreSQL that
 * opens as a hot standby paused exactly at the mount's point ({@code pg_last_wal_replay_lsn()} is
 * the X_end the page server resolved) and shows exactly that phase's table. A standby told to go
 * on ({@code pg_wal_replay_resume()}) cannot start a timeline, and the page server's stays the
 * same. Points outside the window fail with the valid range named.
 */
class TimeTravelTest {
    @TempDir
    Path tmp;

    private record Phase(String name, long lsn, String time, String hash) {}

    @Test
    void mountsAtRecordedLsnsAndTimesShowExactlyThatPhase() throws Exception {
        Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
        int walPort = PostgresCluster.freePort();
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.startPageServer(List.of("--walservice", "127.0.0.1:" + walPort, "--snapshot-check", "500ms"));
            stack.mount();
            String pageServer = "127.0.0.1:" + stack.pageServer().port();
            try (PostgresCluster primary = PostgresCluster.initdb(stack.dataDirectory(), work.resolve("primary"),
                    List.of(PostgresOnDbfsTest.PRIMARY_CONF, PrimaryWithWalService.CONF))) {
                primary.start();
                WalServiceProcess svc = WalServiceProcess.start("host=127.0.0.1 port=" + primary.port() + " user=postgres",
                        tmp.resolve("wal-bucket"), tmp.resolve("walservice"), tmp.resolve("logs"), walPort);
                try {
                    primary.pgbench(work, "-i", "-s", "2", "-q");
                    checkpointAndAwaitSnapshot(primary, stack.pageServer().port());
                    String restore = WalServiceForPostgres.restoreCommand(tmp.resolve("walservice-command"), tmp.resolve("wal-bucket"));

                    AtomicBoolean stop = new AtomicBoolean();
                    CompletableFuture<String> load = CompletableFuture.supplyAsync(() -> pgbenchUntil(primary, work, stop));
                    List<Phase> phases = new ArrayList<>();
                    try {
                        execute(primary, "CREATE TABLE tt (id int PRIMARY KEY, v text)",
                                "INSERT INTO tt SELECT g, 'one-' || g FROM generate_series(1, 2000) g");
                        phases.add(record(primary, "phase 1: 2000 rows inserted"));
                        execute(primary, "UPDATE tt SET v = 'two-' || id WHERE id % 2 = 0");
                        phases.add(record(primary, "phase 2: the even rows updated"));
                        // A checkpoint between the phases: phase 3 starts from a newer snapshot than 1 and 2.
                        checkpointAndAwaitSnapshot(primary, stack.pageServer().port());
                        execute(primary, "DELETE FROM tt WHERE id % 3 = 0", "INSERT INTO tt SELECT g, 'three-' || g"
                                + " FROM generate_series(2001, 2500) g");
                        phases.add(record(primary, "phase 3: every third row deleted, 500 rows added"));
                        execute(primary, "UPDATE tt SET v = 'after'"); // the present differs from every phase
                        assertTrue(!hash(primary).equals(phases.get(2).hash()), "the primary moved on");

                        int n = 0;
                        for (Phase p : phases) {
                            showsPhase(pageServer, restore, p, ResolvePointRequest.newBuilder().setLsn(p.lsn()).build(), "lsn-" + ++n, 0);
                        }
                        for (Phase p : phases) {
                            int mount = ++n;
                            showsPhase(pageServer, restore, p, org.dbfs.fuse.PointInTime.time(p.time()), "time-" + mount,
                                    mount == 6 ? stack.pageServer().port() : 0);
                        }
                        pointsOutsideTheWindowAreRefused(pageServer, primary);
                    } finally {
                        stop.set(true);
                    }
                    String bench = load.get(120, TimeUnit.SECONDS);
                    System.out.println(bench.lines().filter(l -> l.startsWith("tps")).findFirst().orElse(bench));
                } finally {
                    svc.close();
                }
            }
        }
    }

    /**
     * A time-travel mount at {@code point}, a standby on it: paused at X_end, with the phase's table.
     * With {@code thenResumeOn} (the page server's port), it is then told to go on.
     */
    private void showsPhase(String pageServer, String restore, Phase phase, ResolvePointRequest point, String name,
                            int thenResumeOn) throws Exception {
        long started = System.nanoTime();
        try (ReplicaOnDbfs r = new ReplicaOnDbfs(tmp.resolve(name))) {
            long at = r.mountAt(pageServer, point);
            if (point.hasLsn()) {
                assertTrue(at <= phase.lsn(), "X_end " + fmt(at) + " after the point " + fmt(phase.lsn()));
            }
            PostgresCluster standby = r.configureAndStart("", restore);
            awaitPaused(r, standby, 180);
            long replayed = r.replayLsn();
            String hash = hash(standby);
            System.out.printf("%s: %s -> X_end %s, paused at %s in %d ms; table %s%n", name, point.hasLsn()
                    ? "LSN " + fmt(point.getLsn()) : "time " + phase.time(), fmt(at), fmt(replayed),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), hash);
            assertEquals(at, replayed, "the standby did not stop exactly at the mount's point");
            assertEquals(phase.hash(), hash, name + " does not show " + phase.name());
            if (thenResumeOn != 0) {
                resumeCannotStartATimeline(standby, thenResumeOn);
            }
        }
    }

    /**
     * pg_wal_replay_resume() at the target ends recovery, which installs a new timeline's history
     * file first: the mount refuses it, so PostgreSQL cannot become a primary on a copy of the
     * past, and the page server's timeline is what it was.
     */
    private static void resumeCannotStartATimeline(PostgresCluster standby, int port) throws Exception {
        int timelineBefore = ReadOnlyReplicaTest.serverInfo(port).getTimeline();
        execute(standby, "SELECT pg_wal_replay_resume()");
        await("PostgreSQL on the time-travel mount to stop after its refused promotion", 60,
                () -> !ProcessHandle.of(standby.postmasterPid()).map(ProcessHandle::isAlive).orElse(false)
                        || !stillInRecovery(standby).equals("t"));
        String log = standby.log();
        assertTrue(log.contains("Operation not permitted"), "PostgreSQL was not refused its history file:\n" + log);
        assertEquals(timelineBefore, ReadOnlyReplicaTest.serverInfo(port).getTimeline(), "the page server's timeline moved");
        System.out.println("resume: refused, the page server stays on timeline " + timelineBefore);
    }

    private void pointsOutsideTheWindowAreRefused(String pageServer, PostgresCluster primary) throws Exception {
        long now = primary.queryLong("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint");
        IOException beyond = assertThrows(IOException.class, () -> new ReplicaOnDbfs(tmp.resolve("beyond"))
                .mountAt(pageServer, ResolvePointRequest.newBuilder().setLsn(now + (1L << 30)).build()));
        System.out.println("beyond the end: " + beyond.getMessage());
        assertTrue(beyond.getMessage().contains("beyond the end of WAL") && beyond.getMessage().contains("Valid range"),
                beyond.getMessage());
        IOException before = assertThrows(IOException.class, () -> new ReplicaOnDbfs(tmp.resolve("before"))
                .mountAt(pageServer, ResolvePointRequest.newBuilder().setLsn(0x100_0000L).build()));
        System.out.println("before the window: " + before.getMessage());
        assertTrue(before.getMessage().contains("before the oldest data-directory snapshot")
                && before.getMessage().contains("Valid range"), before.getMessage());
        IOException future = assertThrows(IOException.class, () -> new ReplicaOnDbfs(tmp.resolve("future"))
                .mountAt(pageServer, org.dbfs.fuse.PointInTime.time("2099-01-01 00:00:00+00")));
        System.out.println("a time with no commit after it: " + future.getMessage());
        assertTrue(future.getMessage().contains("no transaction has committed or aborted after"), future.getMessage());
        IOException past = assertThrows(IOException.class, () -> new ReplicaOnDbfs(tmp.resolve("past"))
                .mountAt(pageServer, org.dbfs.fuse.PointInTime.time("2001-01-01 00:00:00+00")));
        System.out.println("a time before the window: " + past.getMessage());
        assertTrue(past.getMessage().contains("before the oldest state"), past.getMessage());
    }

    static void awaitPaused(ReplicaOnDbfs r, PostgresCluster standby, int seconds) throws InterruptedException {
        await("the standby to pause at its recovery target", seconds, () -> {
            try {
                return queryText(standby, "SELECT pg_get_wal_replay_pause_state()").equals("paused");
            } catch (SQLException e) {
                return false; // not accepting connections yet
            }
        });
    }

    private static String stillInRecovery(PostgresCluster pg) {
        try {
            return queryText(pg, "SELECT pg_is_in_recovery()");
        } catch (SQLException e) {
            return "down";
        }
    }

    private static Phase record(PostgresCluster pg, String name) throws SQLException {
        long lsn = pg.queryLong("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint");
        String time = queryText(pg, "SELECT clock_timestamp()::text");
        Phase p = new Phase(name, lsn, time, hash(pg));
        System.out.printf("%s: LSN %s, time %s, table %s%n", name, fmt(lsn), time, p.hash());
        return p;
    }

    private static String hash(PostgresCluster pg) throws SQLException {
        return hash(pg, "tt");
    }

    /** A table of (id, v) as its row count and the md5 of its rows in id order. */
    static String hash(PostgresCluster pg, String table) throws SQLException {
        return queryText(pg, "SELECT count(*) || ':' || md5(string_agg(id || '=' || v, ',' ORDER BY id)) FROM " + table);
    }

    static String queryText(PostgresCluster pg, String sql) throws SQLException {
        try (Connection c = pg.connect(); Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getString(1);
        }
    }

    static void execute(PostgresCluster pg, String... sql) throws SQLException {
        try (Connection c = pg.connect(); Statement s = c.createStatement()) {
            for (String q : sql) {
                s.execute(q);
            }
        }
    }

    static void checkpointAndAwaitSnapshot(PostgresCluster primary, int port) throws Exception {
        long checkpointBefore = primary.queryLong("SELECT (checkpoint_lsn - '0/0'::pg_lsn)::bigint FROM pg_control_checkpoint()");
        execute(primary, "CHECKPOINT");
        long checkpoint = primary.queryLong("SELECT (checkpoint_lsn - '0/0'::pg_lsn)::bigint FROM pg_control_checkpoint()");
        assertTrue(checkpoint != checkpointBefore, "CHECKPOINT made no new checkpoint");
        await("a data-directory snapshot of checkpoint " + fmt(checkpoint), 60,
                () -> snapshots(port).getSnapshotsList().stream().anyMatch(s -> s.getCheckpoint() == checkpoint));
    }

    static ListSnapshotsReply snapshots(int port) {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            return PageServerGrpc.newBlockingStub(ch).listSnapshots(ListSnapshotsRequest.getDefaultInstance());
        } finally {
            ch.shutdownNow();
        }
    }

    private static String pgbenchUntil(PostgresCluster primary, Path work, AtomicBoolean stop) {
        StringBuilder out = new StringBuilder();
        try {
            while (!stop.get()) {
                out.append(primary.pgbench(work, "-c", "2", "-T", "5"));
            }
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
        return out.toString();
    }
}
