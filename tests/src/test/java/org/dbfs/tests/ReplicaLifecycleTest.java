package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import org.dbfs.bucket.crypto.BucketKeys;
import org.dbfs.bucket.lease.ReaderLeases;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.ServerInfoReply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicas through a primary's life, against a page server that collects garbage eagerly
 * (--retention 5s, packing and collecting every second): two replicas at once while the primary runs DDL (new tables and indexes,
 * DROP, TRUNCATE, VACUUM FULL's new relfilenode, a truncating VACUUM, a sequence) beside pgbench,
 * with queries on the replicas that may only ever fail with PostgreSQL's own recovery-conflict
 * cancellation or a table that does not exist yet or any more; a replica restarted on its overlay
 * and one on a fresh overlay catching up; and a replica paused at LSN X, whose reader lease keeps
 * what it reads while the primary churns on, hashing like a stock standby from pg_basebackup
 * paused at the same X. Every replica's lease is gone once it stopped, and the page server
 * refused no write because none came.
 */
class ReplicaLifecycleTest {
    private static final List<String> DDL_TABLES = List.of("ddl_new", "ddl_trunc", "ddl_vf", "ddl_vt");
    /** Table, and the key it hashes in order of. */
    private static final List<String> HASHED = List.of("pgbench_accounts ORDER BY aid", "pgbench_branches ORDER BY bid",
            "pgbench_tellers ORDER BY tid", "pgbench_history ORDER BY tid, bid, aid, delta, mtime",
            "ddl_new ORDER BY id", "ddl_trunc ORDER BY id", "ddl_vf ORDER BY id", "ddl_vt ORDER BY id");

    @TempDir
    Path tmp;

    @Test
    void replicasFollowDdlRestartsFreshOverlaysAndAPausedOneMatchesAStockStandby() throws Exception {
        Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
        int walPort = PostgresCluster.freePort();
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            // Packs every second and collects every second what a 5 s window no longer needs: without
            // its reader lease, a paused replica's reads would fall below the horizon within seconds.
            stack.startPageServer(List.of("--walservice", "127.0.0.1:" + walPort, "--retention", "5s",
                    "--gc-interval", "1s", "--pack-interval-ms", "1000"));
            stack.mount();
            String pageServer = "127.0.0.1:" + stack.pageServer().port();
            try (PostgresCluster primary = PostgresCluster.initdb(stack.dataDirectory(), work.resolve("primary"),
                    List.of(PostgresOnDbfsTest.PRIMARY_CONF, PrimaryWithWalService.CONF))) {
                primary.start();
                WalServiceProcess svc = WalServiceProcess.start("host=127.0.0.1 port=" + primary.port() + " user=postgres",
                        tmp.resolve("wal-bucket"), tmp.resolve("walservice"), tmp.resolve("logs"), walPort);
                String conninfo = "host=127.0.0.1 port=" + primary.port() + " user=postgres";
                try (ReplicaOnDbfs a = new ReplicaOnDbfs(tmp.resolve("replica-a"));
                     ReplicaOnDbfs b = new ReplicaOnDbfs(tmp.resolve("replica-b"))) {
                    primary.pgbench(work, "-i", "-s", "2", "-q");

                    step("two replicas at once, through DDL");
                    a.mount(pageServer);
                    b.mount(pageServer);
                    // a also fetches archived WAL with restore_command, as docs/replicas.md sets it up
                    String restore = WalServiceForPostgres.restoreCommand(tmp.resolve("walservice-command"), tmp.resolve("wal-bucket"));
                    a.configureAndStart(conninfo + " application_name=a", restore);
                    b.configureAndStart(conninfo + " application_name=b", null);
                    await("both replicas to accept queries", 180, () -> a.replayLsn() > 0 && b.replayLsn() > 0);
                    List<String> unexpected = Collections.synchronizedList(new ArrayList<>());
                    AtomicBoolean stop = new AtomicBoolean();
                    // Threads of their own: the common pool has one worker on two cores.
                    ExecutorService threads = Executors.newFixedThreadPool(3);
                    CompletableFuture<int[]> queriesA = CompletableFuture.supplyAsync(() -> queryLoop(a.pg(), stop, unexpected), threads);
                    CompletableFuture<int[]> queriesB = CompletableFuture.supplyAsync(() -> queryLoop(b.pg(), stop, unexpected), threads);
                    CompletableFuture<String> load = CompletableFuture.supplyAsync(() -> pgbench(primary, work, "-c", "2", "-T", "15"),
                            threads);
                    try {
                        runDdl(primary);
                        step("DDL done");
                        load.join();
                        catchUp(primary, a, b);
                        step("both caught up");
                    } finally {
                        stop.set(true);
                    }
                    int[] countsA = queriesA.join();
                    int[] countsB = queriesB.join();
                    threads.shutdown();
                    System.out.printf("replica queries during DDL: a %d ok / %d cancelled or not there, b %d / %d%n",
                            countsA[0], countsA[1], countsB[0], countsB[1]);
                    assertTrue(unexpected.isEmpty(), "replica queries failed otherwise: " + unexpected);
                    assertTrue(countsA[0] > 0 && countsB[0] > 0, "queries ran on both replicas");
                    sameData(primary, a.pg(), "replica a after DDL");
                    sameData(primary, b.pg(), "replica b after DDL");
                    for (ReplicaOnDbfs r : List.of(a, b)) {
                        assertEquals(0, r.pg().queryLong("SELECT count(*) FROM pg_class WHERE relname = 'ddl_drop'"),
                                "the dropped table is gone on the replica");
                    }
                    b.close();

                    step("a restarted on its overlay, c on a fresh one");
                    a.stopPostgres();
                    a.unmount();
                    primary.pgbench(work, "-c", "2", "-T", "5");
                    a.mount(pageServer);
                    a.start();
                    try (ReplicaOnDbfs c = new ReplicaOnDbfs(tmp.resolve("replica-c"))) {
                        c.mount(pageServer);
                        c.configureAndStart(conninfo + " application_name=c", null);
                        await("replica c to accept queries", 180, () -> c.replayLsn() > 0);
                        catchUp(primary, a, c);
                        sameData(primary, a.pg(), "replica a restarted on its overlay");
                        sameData(primary, c.pg(), "replica c on a fresh overlay");
                    }
                    a.close();

                    step("paused at X: a stock standby and replica d");
                    pausedReplicaMatchesAStockStandbyPausedThere(primary, work, pageServer, conninfo);

                    ObjectStore bucket = ObjectStores.open(stack.root().resolve("bucket").toUri().toString(), null);
                    var leases = new ReaderLeases(bucket, BucketKeys.openExisting(bucket, DbfsStack.PASSPHRASE.toCharArray()),
                            java.time.Clock.systemUTC()).live();
                    assertTrue(leases.isEmpty(), "every replica stopped cleanly, so no reader lease is left: " + leases);
                    ServerInfoReply info = ReadOnlyReplicaTest.serverInfo(stack.pageServer().port());
                    assertEquals(0, info.getReadOnlyWritesRefused(), "write calls arrived on read-only connections");
                } finally {
                    svc.close();
                }
            }
        }
    }

    /**
     * A stock standby (pg_basebackup) and a DbFS replica both paused at X, then the primary runs on
     * for longer than the page server's retention while both sit there: the replica's reader lease
     * must keep what its first reads of most pages need, and every table hashes the same on both.
     */
    private void pausedReplicaMatchesAStockStandbyPausedThere(PostgresCluster primary, Path work, String pageServer,
                                                             String conninfo) throws Exception {
        Path stockData = work.resolve("stock-standby");
        primary.baseBackup(stockData, work.resolve("basebackup.log"), "-R");
        try (ReplicaOnDbfs d = new ReplicaOnDbfs(tmp.resolve("replica-d"))) {
            d.mount(pageServer);
            primary.pgbench(work, "-c", "2", "-T", "5");
            long x = primary.queryLong("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint");
            primary.pgbench(work, "-c", "2", "-T", "3");
            String pause = "recovery_target_lsn = '" + Lsn.format(x) + "'\nrecovery_target_inclusive = off\n"
                    + "recovery_target_action = 'pause'\n";
            try (PostgresCluster stock = PostgresCluster.standby(stockData, work.resolve("stock-work"), pause)) {
                stock.start();
                PostgresCluster replica = d.configureAndStart(conninfo + " application_name=d", null, pause);
                awaitPaused(stock, "the stock standby", x);
                awaitPaused(replica, "the DbFS replica", x);
                // The horizon follows the page LSNs the primary writes: a checkpoint writes pages newer than X,
                // and once its pack is older than --retention, collection would pass X but for the lease.
                primary.pgbench(work, "-c", "2", "-T", "5");
                try (Connection c = primary.connect(); Statement s = c.createStatement()) {
                    s.execute("CHECKPOINT");
                }
                primary.pgbench(work, "-c", "2", "-T", "10");
                for (String table : HASHED) {
                    assertEquals(ReadOnlyReplicaTest.hash(stock, table), ReadOnlyReplicaTest.hash(replica, table),
                            table + " differs between the stock standby and the DbFS replica paused at " + fmt(x));
                }
                assertEquals(stock.queryLong("SELECT last_value FROM ddl_seq"), replica.queryLong("SELECT last_value FROM ddl_seq"),
                        "ddl_seq at " + fmt(x));
                System.out.printf("paused at %s: %d tables and a sequence are the same on a stock standby and the DbFS replica%n",
                        fmt(x), HASHED.size());
            }
        }
    }

    private static void step(String what) {
        System.out.printf("%s: %s%n", java.time.LocalTime.now(), what);
    }

    private static void awaitPaused(PostgresCluster pg, String what, long x) throws InterruptedException {
        await(what + " to pause at " + fmt(x), 180, () -> {
            try (Connection c = pg.connect(); Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT pg_get_wal_replay_pause_state()")) {
                return r.next() && "paused".equals(r.getString(1));
            } catch (SQLException e) {
                return false; // not accepting connections yet
            }
        });
    }

    private static void runDdl(PostgresCluster primary) throws SQLException {
        try (Connection c = primary.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE ddl_new AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
            s.execute("CREATE INDEX ddl_new_v ON ddl_new (v)");
            s.execute("CREATE TABLE ddl_drop AS SELECT g AS id FROM generate_series(1, 20000) g");
            s.execute("CREATE TABLE ddl_trunc AS SELECT g AS id, repeat('t', 50) AS v FROM generate_series(1, 20000) g");
            s.execute("CREATE TABLE ddl_vf AS SELECT g AS id, repeat('f', 50) AS v FROM generate_series(1, 20000) g");
            s.execute("CREATE TABLE ddl_vt AS SELECT g AS id, repeat('v', 50) AS v FROM generate_series(1, 50000) g");
            s.execute("CREATE SEQUENCE ddl_seq");
            s.execute("SELECT nextval('ddl_seq') FROM generate_series(1, 100)");
            s.execute("DROP TABLE ddl_drop");
            s.execute("TRUNCATE ddl_trunc");
            s.execute("INSERT INTO ddl_trunc SELECT g, 'after truncate' FROM generate_series(1, 500) g");
            s.execute("DELETE FROM ddl_vf WHERE id % 2 = 0");
            s.execute("VACUUM FULL ddl_vf"); // a new relfilenode
            s.execute("DELETE FROM ddl_vt WHERE id > 1000");
            s.execute("VACUUM ddl_vt"); // truncates the heap's tail
            s.execute("SELECT nextval('ddl_seq') FROM generate_series(1, 50)");
            s.execute("INSERT INTO ddl_new SELECT g, md5(g::text) FROM generate_series(20001, 25000) g");
        }
    }

    /** Queries every DDL table until stopped; returns {ok, tolerated}; anything else goes to {@code unexpected}. */
    private static int[] queryLoop(PostgresCluster pg, AtomicBoolean stop, List<String> unexpected) {
        int ok = 0;
        int tolerated = 0;
        while (!stop.get()) {
            for (String table : DDL_TABLES) {
                try (Connection c = pg.connect(); Statement s = c.createStatement();
                     ResultSet r = s.executeQuery("SELECT count(*), sum(length(v)) FROM " + table)) {
                    r.next();
                    ok++;
                } catch (SQLException e) {
                    // 40001: canceled by a recovery conflict; 42P01: not created yet, or dropped
                    if ("40001".equals(e.getSQLState()) || "42P01".equals(e.getSQLState())) {
                        tolerated++;
                    } else {
                        unexpected.add(table + ": " + e.getSQLState() + " " + e.getMessage());
                    }
                }
            }
        }
        return new int[] {ok, tolerated};
    }

    private static void catchUp(PostgresCluster primary, ReplicaOnDbfs... replicas) throws Exception {
        long end = primary.queryLong("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint");
        for (ReplicaOnDbfs r : replicas) {
            await("a replica to replay to " + fmt(end), 60, () -> r.replayLsn() >= end);
        }
    }

    private static void sameData(PostgresCluster primary, PostgresCluster replica, String what) throws SQLException {
        for (String table : HASHED) {
            assertEquals(ReadOnlyReplicaTest.hash(primary, table), ReadOnlyReplicaTest.hash(replica, table), what + ": " + table);
        }
        // A sequence's WAL record logs SEQ_LOG_VALS (32) values ahead, and a standby shows the logged value.
        long onPrimary = primary.queryLong("SELECT last_value FROM ddl_seq");
        long onReplica = replica.queryLong("SELECT last_value FROM ddl_seq");
        assertTrue(onReplica >= onPrimary && onReplica <= onPrimary + 32,
                what + ": ddl_seq is " + onReplica + " on the replica, " + onPrimary + " on the primary");
    }

    private static String pgbench(PostgresCluster pg, Path work, String... args) {
        try {
            return pg.pgbench(work, args);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
