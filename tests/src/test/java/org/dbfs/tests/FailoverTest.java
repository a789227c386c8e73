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
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.dbfs.protocol.walservice.v1.Positions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failover without losing an acknowledged commit, as a loop in which the roles alternate. Each
 * round: 4 clients run bank transfers on the primary (a read-write mount in its own process, page
 * server over TCP, the WAL service its synchronous standby) while a hot standby on a read-only
 * mount (its own process too) follows; the primary and its mount get SIGKILL; {@code fencectl
 * promote} promotes the standby; then every transfer whose COMMIT returned is on the new primary,
 * the total is unchanged, a commit there waits for the WAL service on the new timeline, and the
 * old primary comes back as a replica of the new one (a fresh read-only mount), ready for the next
 * round. Failover time is from the kill to the first COMMIT that returns on the new primary.
 */
class FailoverTest {
    private static final int ROUNDS = Integer.getInteger("dbfs.failoverTest.rounds", 6);

    @TempDir
    Path tmp;

    @Test
    void noAcknowledgedCommitIsLostAcrossFailoversThatAlternateTheRoles() throws Exception {
        Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
        Path logs = tmp.resolve("logs");
        Path passphrase = Files.writeString(tmp.resolve("passphrase"), DbfsStack.PASSPHRASE + "\n");
        int walPort = PostgresCluster.freePort();
        List<Long> failoverMillis = new ArrayList<>();
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.startPageServer(List.of("--walservice", "127.0.0.1:" + walPort));
            String pageServer = "127.0.0.1:" + stack.pageServer().port();
            List<String> bucket = List.of("--bucket", stack.root().resolve("bucket").toUri().toString(),
                    "--passphrase-file", passphrase.toString());
            // No restore_command: fencectl hands a standby the WAL it lacks itself (a restore_command
            // would only slow promotion down, a process per history file PostgreSQL looks for).
            String restore = null;

            MountProcess primaryMount = MountProcess.start(List.of("--rw", "--pageserver", pageServer), stack.mountPoint(), logs);
            PostgresCluster primary = PostgresCluster.initdb(stack.dataDirectory(), work.resolve("primary"),
                    List.of(PostgresOnDbfsTest.PRIMARY_CONF, PrimaryWithWalService.CONF));
            primary.start();
            WalServiceProcess svc = WalServiceProcess.start("host=127.0.0.1 port=" + primary.port() + " user=postgres",
                    tmp.resolve("wal-bucket"), tmp.resolve("walservice"), logs, walPort);
            try (Connection c = primary.connect()) {
                BankWorkload.createSchema(c);
            }
            Set<Long> acked = new HashSet<>();
            List<ReplicaOnDbfs> all = new ArrayList<>();
            try {
                ReplicaOnDbfs standby = startReplica(tmp.resolve("replica-0"), pageServer, logs, primary.port(), restore, all);
                long nextId = 1;
                for (int round = 1; round <= ROUNDS; round++) {
                    BankWorkload bank = new BankWorkload(primary.port(), tmp.resolve("acked-" + round + ".txt"));
                    bank.start(4, nextId);
                    long before = acked.size();
                    await("transfers to commit in round " + round, 120, () -> bank.ackedCount() >= 150);

                    List<Long> victims = new ArrayList<>(primary.processIds());
                    ChildJvm.signal("KILL", victims);
                    if (primaryMount != null) {
                        primaryMount.kill9();
                    }
                    long killed = System.nanoTime();
                    ChildJvm.Result promote = FencingTest.fencectl(logs, "promote", bucket, "--pageserver", pageServer,
                            "--replica", standby.mountPoint.toString());
                    System.out.print(promote.stdout());
                    assertEquals(0, promote.exitCode(), "round " + round + ": " + promote.stdout() + promote.stderr());
                    PostgresCluster newPrimary = standby.pg();
                    long firstCommit = awaitFirstCommit(newPrimary);
                    long millis = (firstCommit - killed) / 1_000_000;
                    failoverMillis.add(millis);
                    bank.close();
                    acked.addAll(bank.ackedIds());
                    nextId += 10_000_000;

                    Set<Long> present = transferIds(newPrimary);
                    for (long id : acked) {
                        assertTrue(present.contains(id), "round " + round + ": transfer " + id + " was acknowledged and is lost");
                    }
                    assertEquals(BankWorkload.TOTAL, newPrimary.queryLong("SELECT sum(balance) FROM accounts"),
                            "round " + round + ": the total changed");
                    long committed = commitAndReturnItsStart(newPrimary);
                    Positions p = svc.positions();
                    assertTrue(p.getTimeline() > 1 && Long.compareUnsigned(p.getFlushedLsn(), committed) > 0,
                            "round " + round + ": a COMMIT on the new primary returned before the WAL service (timeline "
                                    + p.getTimeline() + ", flushed " + fmt(p.getFlushedLsn()) + ") had its record, after "
                                    + fmt(committed));
                    assertEquals("sync", queryString(newPrimary,
                            "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'walservice'"));
                    System.out.printf("round %d: failover %d ms; %d transfers acknowledged (%d this round), all present; "
                            + "timeline %d%n", round, millis, acked.size(), acked.size() - before, p.getTimeline());

                    // The old primary rejoins as a replica of the new one, for the next round.
                    primary = newPrimary;
                    primaryMount = standby.mountProcess();
                    standby = startReplica(tmp.resolve("replica-" + round), pageServer, logs, primary.port(), restore, all);
                }
            } finally {
                for (ReplicaOnDbfs r : all) {
                    try {
                        r.close();
                    } catch (Exception e) {
                        System.out.println("closing a replica: " + e);
                    }
                }
                svc.close();
            }
            List<Long> sorted = new ArrayList<>(failoverMillis);
            sorted.sort(null);
            System.out.printf("failovers: %d; failover time p50 %d ms, max %d ms (%s)%n", sorted.size(),
                    sorted.get(sorted.size() / 2), sorted.getLast(), failoverMillis);
        }
    }

    private static ReplicaOnDbfs startReplica(Path root, String pageServer, Path logs, int primaryPort, String restore,
                                              List<ReplicaOnDbfs> all) throws Exception {
        ReplicaOnDbfs r = new ReplicaOnDbfs(root);
        all.add(r);
        r.mountProcess(pageServer, logs);
        r.configureAndStart("host=127.0.0.1 port=" + primaryPort + " user=postgres application_name=" + root.getFileName(), restore);
        await("the replica " + root.getFileName() + " to accept queries", 180, () -> r.replayLsn() > 0);
        return r;
    }

    /** When the first COMMIT returns on {@code pg} (it waits for the WAL service, a synchronous standby). */
    private static long awaitFirstCommit(PostgresCluster pg) throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (true) {
            try (Connection c = pg.connect(); Statement s = c.createStatement()) {
                s.execute("INSERT INTO transfers VALUES (-" + System.nanoTime() + ", 1, 1, 0)");
                return System.nanoTime();
            } catch (SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("no commit on the new primary within 120 s: " + e.getMessage());
                }
                Thread.sleep(20);
            }
        }
    }

    /** Commits a row; returns the insert position just before the COMMIT record (a synchronous commit returns once it is durable there). */
    private static long commitAndReturnItsStart(PostgresCluster pg) throws SQLException {
        try (Connection c = pg.connect(); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("INSERT INTO transfers VALUES (-" + System.nanoTime() + ", 1, 1, 0)");
            long before;
            try (ResultSet rs = s.executeQuery("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")) {
                rs.next();
                before = rs.getLong(1);
            }
            c.commit();
            return before;
        }
    }

    private static String queryString(PostgresCluster pg, String sql) throws SQLException {
        try (Connection c = pg.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    private static Set<Long> transferIds(PostgresCluster pg) throws SQLException {
        Set<Long> ids = new HashSet<>();
        try (Connection c = pg.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT id FROM transfers")) {
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
        }
        return ids;
    }
}
