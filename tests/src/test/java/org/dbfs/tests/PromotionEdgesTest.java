package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbfs.fencing.cli.FencectlCli;
import org.dbfs.fencing.cli.ReplicaMount;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.ServerInfoReply;
import org.dbfs.protocol.pageserver.v1.ServerInfoRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The promotions that must not happen, and the WAL that must not count. One primary (a read-write
 * mount in its own process, over TCP) with the WAL service as its synchronous standby, two hot
 * standbys on read-only mounts, and a page server collecting everything older than 5 s:
 * <ol>
 * <li>{@code pg_ctl promote} on standby 2, which fencectl did not arm: the mount refuses the new
 *     timeline's history file, PostgreSQL there stops, nothing else changes;</li>
 * <li>standby 2's mount is paused until its reader lease lapses and the retention horizon passes
 *     its B: {@code fencectl promote} of it is refused (exit 7) and changes nothing;</li>
 * <li>a transaction inserts rows that reach the WAL service and standby 1, which then stops
 *     streaming, writes and evicts those pages; the WAL service stops; the transaction commits with
 *     {@code synchronous_commit = local} (its commit record past F), the primary reads its rows
 *     (hint bits, pd_lsn unchanged) and commits more, and a CHECKPOINT writes pages with pd_lsn
 *     beyond F, and pages below F that say the transaction committed, to the page server; then the
 *     primary and its mount are killed;</li>
 * <li>{@code fencectl promote} with the bucket unreachable: a clear error, nothing moved;</li>
 * <li>two {@code fencectl promote} of standby 1 at once: one promotes, the other is refused (or,
 *     if it came second, finds the work done) and the epoch moves once;</li>
 * <li>on the new primary, read from the page server (the kernel's cache dropped), no page has an
 *     LSN past the branch (pageinspect), the rows committed beyond F are not there, nor any of the
 *     transaction whose commit record is past F, and every row acknowledged before is;</li>
 * <li>commits on the new primary wait for the WAL service on timeline 2, and
 *     {@code walservice waldump} over the switch segment reads what {@code pg_waldump -t 2} reads.</li>
 * </ol>
 */
class PromotionEdgesTest {
    private static final Pattern EPOCH = Pattern.compile("(?m)^epoch: (\\d+)$");
    private static final Pattern BRANCH = Pattern.compile("branched at ([0-9A-F]+/[0-9A-F]+)");
    private static final Pattern WALDUMP_LINE = Pattern.compile("^rmgr: (\\S+) .*?, lsn: ([0-9A-F]+/[0-9A-F]+), prev [0-9A-F/]+, desc: ([^ ,]+)");
    private static final int ACKED_ROWS = 3000;

    @TempDir
    Path tmp;
    private final List<WalServiceProcess> walServices = new ArrayList<>();

    /** Every WAL service the test starts is stopped after it, whatever happened. */
    private WalServiceProcess walService(String conninfo, Path bucket, Path logs, int port) throws Exception {
        WalServiceProcess svc = WalServiceProcess.start(conninfo, bucket, tmp.resolve("walservice"), logs, port);
        walServices.add(svc);
        return svc;
    }

    @org.junit.jupiter.api.AfterEach
    void stopWalServices() throws InterruptedException {
        for (WalServiceProcess svc : walServices) {
            svc.close();
        }
    }

    @Test
    void unarmedAndStalePromotionsAreRefusedAndWalBeyondFIsNeverServed() throws Exception {
        Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
        Path logs = tmp.resolve("logs");
        Path passphrase = Files.writeString(tmp.resolve("passphrase"), DbfsStack.PASSPHRASE + "\n");
        Path walBucket = tmp.resolve("wal-bucket");
        int walPort = PostgresCluster.freePort();
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.startPageServer(List.of("--walservice", "127.0.0.1:" + walPort, "--retention", "5s",
                    "--gc-interval", "1s", "--pack-interval-ms", "1000"));
            String pageServer = "127.0.0.1:" + stack.pageServer().port();
            List<String> bucket = List.of("--bucket", stack.root().resolve("bucket").toUri().toString(),
                    "--passphrase-file", passphrase.toString());
            MountProcess primaryMount = MountProcess.start(List.of("--rw", "--pageserver", pageServer), stack.mountPoint(), logs);
            try (primaryMount;
                 PostgresCluster primary = PostgresCluster.initdb(stack.dataDirectory(), work.resolve("primary"),
                         List.of(PostgresOnDbfsTest.PRIMARY_CONF, PrimaryWithWalService.CONF));
                 ReplicaOnDbfs one = new ReplicaOnDbfs(tmp.resolve("replica-1"));
                 ReplicaOnDbfs two = new ReplicaOnDbfs(tmp.resolve("replica-2"))) {
                primary.start();
                String conninfo = "host=127.0.0.1 port=" + primary.port() + " user=postgres";
                WalServiceProcess svc = walService(conninfo, walBucket, logs, walPort);
                try (Connection c = primary.connect(); Statement s = c.createStatement()) {
                    s.execute("CREATE EXTENSION pageinspect");
                    s.execute("CREATE EXTENSION pg_buffercache");
                    s.execute("CREATE TABLE beyond_f (id int PRIMARY KEY, v text) WITH (fillfactor = 50)");
                    s.execute("CREATE TABLE hinted (id int, v text)");
                    s.execute("INSERT INTO beyond_f SELECT g, 'acknowledged' FROM generate_series(1, " + ACKED_ROWS + ") g");
                }
                primary.pgbench(work, "-i", "-s", "1", "-q");
                one.mountProcess(pageServer, logs);
                two.mountProcess(pageServer, logs, "--reader-lease-ttl", "2");
                // Few buffers: the standby's copies of the pages below get written and evicted, so that the
                // new primary reads them from the page server.
                one.configureAndStart(conninfo + " application_name=one", null, "shared_buffers = 2MB\n");
                two.configureAndStart(conninfo + " application_name=two", null);
                await("both standbys to accept queries", 180, () -> one.replayLsn() > 0 && two.replayLsn() > 0);
                long epochBefore = epoch(logs, bucket);

                // 1. pg_ctl promote on a replica nobody armed
                ReplicaMount twoMount = new ReplicaMount(two.mountPoint);
                PostgresCluster.run(List.of(PostgresCluster.BIN.resolve("pg_ctl").toString(), "-D", two.mountPoint.toString(),
                        "-W", "promote"), tmp.resolve("pg_ctl-promote.log"), 60);
                await("PostgreSQL on replica 2 to stop at the refused promotion", 60,
                        () -> !ProcessHandle.of(two.pg().postmasterPid()).map(ProcessHandle::isAlive).orElse(false));
                String twoLog = two.pg().log();
                assertTrue(twoLog.contains(".history\": Operation not permitted"), "PostgreSQL says what failed:\n" + tail(twoLog));
                assertEquals("ro", twoMount.request("status").get("mode"), "the mount stayed read-only");
                assertEquals(1, serverInfo(stack).getTimeline(), "no timeline was started");
                assertEquals(epochBefore, epoch(logs, bucket), "the lease did not move");
                primary.queryLong("SELECT count(*) FROM pg_stat_replication"); // the primary is unaffected
                System.out.println("unarmed pg_ctl promote: refused at the history file; PostgreSQL on replica 2 stopped");

                // 2. replica 2 falls behind the retention horizon: its mount pauses past its reader lease
                long b2 = Lsn.parse(twoMount.request("status").get("b"));
                ChildJvm.signal("STOP", List.of(two.mountProcess().pid()));
                try {
                    long deadline = System.nanoTime() + 120_000_000_000L;
                    while (Long.compareUnsigned(serverInfo(stack).getGcHorizonLsn(), b2) <= 0) {
                        assertTrue(System.nanoTime() < deadline, "the horizon did not pass B = " + fmt(b2) + " in 120 s (it is at "
                                + fmt(serverInfo(stack).getGcHorizonLsn()) + ")");
                        primary.pgbench(work, "-c", "2", "-T", "2");
                        try (Connection c = primary.connect(); Statement s = c.createStatement()) {
                            s.execute("CHECKPOINT");
                        }
                    }
                } finally {
                    ChildJvm.signal("CONT", List.of(two.mountProcess().pid()));
                }
                await("replica 2's mount to find its reader lease refused", 60,
                        () -> "refused".equals(twoMount.request("status").get("reader_lease")));
                ChildJvm.Result stale = FencingTest.fencectl(logs, "promote", bucket, "--pageserver", pageServer,
                        "--replica", two.mountPoint.toString());
                assertEquals(FencectlCli.REFUSED, stale.exitCode(), stale.stdout() + stale.stderr());
                assertTrue(stale.stderr().contains("behind the retention horizon") && stale.stderr().contains(Lsn.format(b2)),
                        stale.stderr());
                assertEquals(epochBefore, epoch(logs, bucket), "the refused promotion did not move the lease");
                System.out.println("replica 2 behind the horizon: " + stale.stderr().strip());

                // 3. WAL beyond F: standby 1 stops streaming (it would keep what the primary sent it, and the
                // promotion would then count it), the WAL service stops, the primary commits locally and
                // writes those pages out. First a transaction whose rows reach the WAL service and the
                // standby and whose COMMIT does not: its insert records are before F, its commit record past it.
                Connection open = primary.connect();
                Statement inOpen = open.createStatement();
                open.setAutoCommit(false);
                inOpen.execute("SET synchronous_commit = local");
                inOpen.execute("INSERT INTO hinted SELECT g, 'committed past F' FROM generate_series(1, 500) g");
                long inserted;
                try (Connection c = primary.connect(); Statement s = c.createStatement()) {
                    s.execute("CHECKPOINT"); // a checkpoint record for the standby's restartpoint below
                    s.execute("INSERT INTO beyond_f VALUES (0, 'acknowledged')"); // a synchronous commit after those inserts
                    inserted = Lsn.parse(string(s, "SELECT pg_current_wal_lsn()::text"));
                }
                await("standby 1 to replay the inserts", 60, () -> Long.compareUnsigned(one.replayLsn(), inserted) >= 0);
                try (Connection c = one.pg().connect(); Statement s = c.createStatement()) {
                    s.execute("ALTER SYSTEM SET primary_conninfo = ''");
                    s.execute("SELECT pg_reload_conf()");
                    s.execute("CHECKPOINT"); // a restartpoint: the replayed pages are written (the mount drops them), clean
                    s.execute("SET enable_seqscan = off");
                    s.execute("SET enable_bitmapscan = off");
                    s.execute("SET enable_indexonlyscan = off");
                    count(s, "SELECT sum(abalance) FROM pgbench_accounts WHERE aid > 0"); // evicts them
                    assertEquals(0, count(s, "SELECT count(*) FROM pg_buffercache WHERE relfilenode = pg_relation_filenode('hinted')"),
                            "the standby still holds pages of the table in its buffers");
                }
                await("standby 1 to stop streaming", 60, () -> {
                    try {
                        return one.pg().queryLong("SELECT count(*) FROM pg_stat_wal_receiver") == 0;
                    } catch (SQLException e) {
                        return false;
                    }
                });
                svc.kill9();
                open.commit();
                open.close();
                long pageLsnBeyond;
                try (Connection c = primary.connect(); Statement s = c.createStatement()) {
                    // Reading the rows sets their hint bits (xmin committed), which does not move the page's
                    // LSN: the CHECKPOINT below writes pages with pd_lsn before F that say the transaction committed.
                    assertEquals(500, count(s, "SELECT count(*) FROM hinted"));
                    s.execute("SET synchronous_commit = local");
                    s.execute("UPDATE beyond_f SET v = 'beyond F' WHERE id % 7 = 0");
                    s.execute("INSERT INTO beyond_f SELECT g, 'beyond F' FROM generate_series(" + (ACKED_ROWS + 1) + ", "
                            + (ACKED_ROWS + 2000) + ") g");
                    s.execute("CHECKPOINT");
                    pageLsnBeyond = maxPageLsn(c);
                }
                ChildJvm.signal("KILL", new ArrayList<>(primary.processIds()));
                primaryMount.kill9();
                svc = walService(conninfo, walBucket, logs, walPort);
                long f = svc.positions().getFlushedLsn();
                assertTrue(Long.compareUnsigned(pageLsnBeyond, f) > 0, "the CHECKPOINT wrote pages past F = " + fmt(f) + ": "
                        + fmt(pageLsnBeyond));
                System.out.printf("pages written up to %s, F = %s; primary killed%n", fmt(pageLsnBeyond), fmt(f));

                // 4. a bucket that cannot be reached: nothing moves; then two promotions of replica 1 at once
                int closed = PostgresCluster.freePort();
                ChildJvm.Result noBucket = ChildJvm.run(FencectlCli.class, List.of("promote", "--bucket", "s3://nowhere/prefix",
                        "--s3-endpoint", "http://127.0.0.1:" + closed, "--pageserver", pageServer, "--replica", one.mountPoint.toString()),
                        java.util.Map.of("DBFS_PASSPHRASE", DbfsStack.PASSPHRASE, "AWS_ACCESS_KEY_ID", "a", "AWS_SECRET_ACCESS_KEY", "b",
                                "AWS_REGION", "us-east-1"), logs);
                assertNotEquals(0, noBucket.exitCode(), noBucket.stdout());
                assertTrue(noBucket.stderr().contains("127.0.0.1:" + closed) && !noBucket.stderr().contains("\tat "),
                        "names the bucket's endpoint, without a stack trace: " + noBucket.stderr());
                assertEquals(epochBefore, epoch(logs, bucket), "the lease did not move");
                assertEquals("ro", new ReplicaMount(one.mountPoint).request("status").get("mode"));
                System.out.println("bucket unreachable: " + noBucket.stderr().strip());

                ExecutorService threads = Executors.newFixedThreadPool(2);
                List<CompletableFuture<ChildJvm.Result>> runs = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    runs.add(CompletableFuture.supplyAsync(() -> {
                        try {
                            return FencingTest.fencectl(logs, "promote", bucket, "--pageserver", pageServer,
                                    "--replica", one.mountPoint.toString());
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }, threads));
                }
                List<ChildJvm.Result> results = runs.stream().map(CompletableFuture::join).toList();
                threads.shutdown();
                List<ChildJvm.Result> winners = results.stream().filter(r -> r.stdout().contains("lease moved to epoch")).toList();
                assertEquals(1, winners.size(), "exactly one run moved the lease:\n" + results);
                ChildJvm.Result winner = winners.getFirst();
                ChildJvm.Result loser = results.get(results.indexOf(winner) == 0 ? 1 : 0);
                assertEquals(0, winner.exitCode(), winner.stdout() + winner.stderr());
                System.out.print(winner.stdout());
                boolean refused = loser.exitCode() == FencectlCli.REFUSED;
                assertTrue(refused || (loser.exitCode() == 0 && loser.stdout().contains("is the primary already")),
                        "the second run was refused, or found the promotion done: " + loser);
                assertEquals(epochBefore + 1, epoch(logs, bucket), "the epoch moved once");
                System.out.println("the second promotion " + (refused ? "was refused: " + loser.stderr().strip()
                        : "found the first one done: " + loser.stdout().lines().findFirst().orElse("")));
                Matcher bm = BRANCH.matcher(winner.stdout());
                assertTrue(bm.find(), winner.stdout());
                long branch = Lsn.parse(bm.group(1));

                // 5. the new primary: nothing of the old timeline beyond the branch
                PostgresCluster newPrimary = one.pg();
                // The kernel's page cache of the mount still holds what the standby wrote; memory pressure
                // would drop it some time, this does it now, so that the reads below reach the page server.
                Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "1\n");
                long newest;
                try (Connection c = newPrimary.connect(); Statement s = c.createStatement()) {
                    newest = maxPageLsn(c); // before any query could set hint bits and log a page
                    assertTrue(Long.compareUnsigned(newest, branch) <= 0, "a page of beyond_f on the new primary has LSN "
                            + fmt(newest) + ", past the branch at " + fmt(branch));
                    assertTrue(Long.compareUnsigned(branch, pageLsnBeyond) < 0, "the old pages were past the branch");
                    assertEquals(0, count(s, "SELECT count(*) FROM beyond_f WHERE v = 'beyond F'"), "rows committed only beyond F");
                    assertEquals(ACKED_ROWS + 1, count(s, "SELECT count(*) FROM beyond_f WHERE v = 'acknowledged'"));
                    assertEquals(ACKED_ROWS + 1, count(s, "SELECT count(*) FROM beyond_f"));
                    assertEquals(0, count(s, "SELECT count(*) FROM hinted"), "rows of a transaction whose commit record is past F");
                }
                System.out.printf("new primary: beyond_f pages at most %s (branch %s; the old primary wrote up to %s), %d rows;"
                        + " none of the transaction committed past F%n", fmt(newest), fmt(branch), fmt(pageLsnBeyond), ACKED_ROWS + 1);

                // 6. timeline 2 in the WAL service: synchronous commits, and waldump across the switch
                long end;
                try (Connection c = newPrimary.connect(); Statement s = c.createStatement()) {
                    s.execute("INSERT INTO beyond_f SELECT g, 'timeline 2' FROM generate_series(100001, 100500) g");
                    s.execute("UPDATE beyond_f SET v = 'timeline 2' WHERE id < 50");
                    end = Lsn.parse(string(s, "SELECT pg_current_wal_lsn()::text"));
                    assertEquals("sync", string(s, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'walservice'"));
                }
                assertTrue(Long.compareUnsigned(svc.positions().getFlushedLsn(), end) >= 0, "the commits waited for the WAL service");
                WalServiceProcess wal = svc;
                await("the WAL service to archive timeline 2 up to " + fmt(end), 120,
                        () -> wal.positions().getTimeline() == 2 && Long.compareUnsigned(wal.positions().getArchivedLsn(), end) >= 0);
                long segStart = branch - Lsn.segmentOffset(branch, 16 << 20);
                compareWaldump(one.mountPoint.resolve("pg_wal"), walBucket, segStart, end, logs);
            }
        }
    }

    /** pg_waldump of the new primary's own timeline-2 segment against walservice waldump of the archive. */
    private void compareWaldump(Path pgWal, Path walBucket, long start, long end, Path logs) throws Exception {
        List<String> range = List.of("-s", Lsn.format(start), "-e", Lsn.format(end));
        List<String> theirStats = PgWaldumpOracle.run(tmp,
                concat(List.of("--stats=record", "-t", "2", "-p", pgWal.toString()), range).toArray(String[]::new));
        List<String> theirLines = PgWaldumpOracle.run(tmp,
                concat(List.of("-t", "2", "-p", pgWal.toString()), range).toArray(String[]::new));
        List<String> dump = List.of("waldump", "--bucket", walBucket.toUri().toString(), "--start", Lsn.format(start),
                "--end", Lsn.format(end));
        ChildJvm.Result stats = WalServiceProcess.run(concat(dump, List.of("--stats=record")), logs);
        ChildJvm.Result lines = WalServiceProcess.run(dump, logs);
        assertEquals(0, stats.exitCode(), stats.stderr());
        assertEquals(0, lines.exitCode(), lines.stderr());
        assertEquals(String.join("\n", theirStats) + "\n", stats.stdout(), "walservice waldump --stats=record vs pg_waldump -t 2");
        List<String> theirs = theirLines.stream().filter(l -> l.startsWith("rmgr: ")).toList();
        List<String> mine = lines.stdout().lines().filter(l -> l.startsWith("rmgr: ")).toList();
        assertEquals(theirs.size(), mine.size(), "records across the switch");
        for (int i = 0; i < mine.size(); i++) {
            assertEquals(key(theirs.get(i)), key(mine.get(i)), "record " + i);
        }
        System.out.printf("waldump %s..%s across the switch: %d records, as pg_waldump -t 2 reads them%n", Lsn.format(start),
                Lsn.format(end), mine.size());
    }

    private static String key(String line) {
        Matcher m = WALDUMP_LINE.matcher(line);
        assertTrue(m.find(), line);
        return m.group(1) + " " + m.group(2) + " " + m.group(3);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static long maxPageLsn(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            return Lsn.parse(string(s, "SELECT max(lsn)::text FROM generate_series(0, pg_relation_size('beyond_f') / 8192 - 1) b,"
                    + " page_header(get_raw_page('beyond_f', b::int))"));
        }
    }

    private static long count(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static String string(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static ServerInfoReply serverInfo(DbfsStack stack) {
        return stack.pageServer().client().serverInfo(ServerInfoRequest.getDefaultInstance());
    }

    private static long epoch(Path logs, List<String> bucket) throws Exception {
        ChildJvm.Result status = FencingTest.fencectl(logs, "status", bucket);
        assertEquals(0, status.exitCode(), status.stderr());
        Matcher m = EPOCH.matcher(status.stdout());
        assertTrue(m.find(), status.stdout());
        return Long.parseLong(m.group(1));
    }

    private static String tail(String log) {
        return log.length() > 3000 ? log.substring(log.length() - 3000) : log;
    }
}
