package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.dbfs.protocol.pageserver.v1.GetWalEndRequest;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;
import org.dbfs.protocol.pageserver.v1.ServerInfoReply;
import org.dbfs.protocol.pageserver.v1.ServerInfoRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hot standby on a read-only mount of the primary's own page server, reached over TCP as on
 * another machine, while the primary runs pgbench TPC-B with the WAL service as its synchronous
 * standby. Every 2 s a REPEATABLE READ transaction on the replica checks the TPC-B invariant (the
 * account, branch and teller balances each sum to the history's deltas); after the load, the
 * replica replays to the primary's final LSN within 5 s and every pgbench table hashes the same
 * on both; the page server refused no write from the replica's read-only connections because none
 * was sent, and it served many reads on them.
 */
class ReadOnlyReplicaTest {
    private static final int LOAD_SECONDS = Integer.getInteger("dbfs.replicaTest.loadSeconds", 30);
    private static final List<String> TABLES = List.of("pgbench_accounts ORDER BY aid", "pgbench_branches ORDER BY bid",
            "pgbench_tellers ORDER BY tid", "pgbench_history ORDER BY tid, bid, aid, delta, mtime");

    @TempDir
    Path tmp;

    @Test
    void replicaSeesTheTpcbInvariantThroughoutAndCatchesUp() throws Exception {
        Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
        int walPort = PostgresCluster.freePort();
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.startPageServer(List.of("--walservice", "127.0.0.1:" + walPort));
            stack.mount();
            try (PostgresCluster primary = PostgresCluster.initdb(stack.dataDirectory(), work.resolve("primary"),
                    List.of(PostgresOnDbfsTest.PRIMARY_CONF, PrimaryWithWalService.CONF))) {
                primary.start();
                WalServiceProcess svc = WalServiceProcess.start("host=127.0.0.1 port=" + primary.port() + " user=postgres",
                        tmp.resolve("wal-bucket"), tmp.resolve("walservice"), tmp.resolve("logs"), walPort);
                try (ReplicaOnDbfs replica = new ReplicaOnDbfs(tmp.resolve("replica"))) {
                    primary.pgbench(work, "-i", "-s", "10", "-q");
                    walEndIsTheEndOfTheWalWritten(primary, stack.pageServer().port());
                    replica.mount("127.0.0.1:" + stack.pageServer().port());
                    PostgresCluster standby = replica.configureAndStart(
                            "host=127.0.0.1 port=" + primary.port() + " user=postgres application_name=replica1", null);
                    await("the replica to accept queries", 180, () -> replica.replayLsn() > 0);
                    long firstReplayed = replica.replayLsn();
                    long s = snapshotLsn(replica.overlay);
                    System.out.printf("replica: snapshot S = %s, open for queries at %s%n", fmt(s), fmt(firstReplayed));
                    assertTrue(firstReplayed >= s, "the replica opened for queries before replaying to S = " + fmt(s)
                            + ": at " + fmt(firstReplayed));

                    CompletableFuture<String> load = CompletableFuture.supplyAsync(() -> {
                        try {
                            return primary.pgbench(work, "-c", "4", "-j", "2", "-T", Integer.toString(LOAD_SECONDS));
                        } catch (Exception e) {
                            throw new RuntimeException(e);
                        }
                    });
                    int checks = 0;
                    int cancelled = 0;
                    while (!load.isDone()) {
                        long[] b = invariant(standby);
                        if (b == null) {
                            cancelled++;
                        } else {
                            checks++;
                            assertTrue(b[0] == b[3] && b[1] == b[3] && b[2] == b[3], "TPC-B invariant broken on the replica at "
                                    + fmt(replica.replayLsn()) + ": accounts " + b[0] + ", branches " + b[1] + ", tellers "
                                    + b[2] + ", history " + b[3]);
                        }
                        Thread.sleep(2000);
                    }
                    System.out.println(load.get().lines().filter(l -> l.startsWith("tps")).findFirst().orElse(load.get()));
                    long end = primary.queryLong("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint");
                    long loadEnded = System.nanoTime();
                    await("the replica to replay to the primary's " + fmt(end), 5, () -> replica.replayLsn() >= end);
                    System.out.printf("replica: %d invariant checks held (%d cancelled by recovery conflicts); replayed to %s"
                            + " %d ms after the load%n", checks, cancelled, fmt(end),
                            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - loadEnded));
                    assertTrue(checks >= LOAD_SECONDS / 4, "too few invariant checks ran on the replica: " + checks);
                    for (String table : TABLES) {
                        assertEquals(hash(primary, table), hash(standby, table), "pgbench table " + table + " differs");
                    }

                    long overlay = overlayBytesWithoutWal(replica.overlay.resolve("data"));
                    System.out.printf("overlay without pg_wal: %d bytes after %d s of pgbench%n", overlay, LOAD_SECONDS);
                    assertTrue(overlay < 64L << 20, "the overlay outgrew its bound: " + overlay + " bytes");

                    ServerInfoReply info = serverInfo(stack.pageServer().port());
                    assertEquals(0, info.getReadOnlyWritesRefused(), "write calls arrived on read-only connections");
                    assertTrue(info.getReadOnlyCalls() > 1000, "the replica read through the page server: "
                            + info.getReadOnlyCalls() + " calls");
                    System.out.printf("page server: %d calls on read-only connections, %d writes refused%n",
                            info.getReadOnlyCalls(), info.getReadOnlyWritesRefused());
                } finally {
                    svc.close();
                }
            }
        }
    }

    /**
     * S, the page server's WAL end, lies between the primary's WAL flush position before asking and
     * its insert position after (all three equal when nothing ran in between): the end of what was
     * written, not a page boundary or a recycled segment's old bytes.
     */
    private static void walEndIsTheEndOfTheWalWritten(PostgresCluster primary, int port) throws Exception {
        long before = primary.queryLong("SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint");
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        long s;
        try {
            s = PageServerGrpc.newBlockingStub(ch).getWalEnd(GetWalEndRequest.getDefaultInstance()).getLsn();
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        long after = primary.queryLong("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint");
        System.out.printf("WAL end %s; the primary flushed %s before, inserted %s after%n", fmt(s), fmt(before), fmt(after));
        assertTrue(before <= s && s <= after, "WAL end " + fmt(s) + " outside [" + fmt(before) + ", " + fmt(after) + "]");
    }

    /** S as the mount recorded it in its overlay. */
    static long snapshotLsn(Path overlay) throws Exception {
        java.util.Properties p = new java.util.Properties();
        try (var r = Files.newBufferedReader(overlay.resolve("replica.properties"))) {
            p.load(r);
        }
        return org.dbfs.pgformat.wal.Lsn.parse(p.getProperty("snapshot_lsn"));
    }

    /** What the standby wrote into the overlay, as {@code du} would count it without pg_wal (relation main forks are holes). */
    static long overlayBytesWithoutWal(Path data) throws Exception {
        Process du = new ProcessBuilder("du", "-s", "-B1", "--exclude=pg_wal", data.toString()).redirectErrorStream(true).start();
        String out = new String(du.getInputStream().readAllBytes()).trim();
        assertEquals(0, du.waitFor(), out);
        return Long.parseLong(out.split("\\s+")[0]);
    }

    /** The four TPC-B sums in one REPEATABLE READ snapshot, or null if replay cancelled the query (a recovery conflict). */
    static long[] invariant(PostgresCluster pg) throws SQLException {
        try (Connection c = pg.connect(); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
            try (ResultSet r = s.executeQuery("SELECT (SELECT coalesce(sum(abalance), 0) FROM pgbench_accounts),"
                    + " (SELECT coalesce(sum(bbalance), 0) FROM pgbench_branches),"
                    + " (SELECT coalesce(sum(tbalance), 0) FROM pgbench_tellers),"
                    + " (SELECT coalesce(sum(delta), 0) FROM pgbench_history)")) {
                r.next();
                long[] out = {r.getLong(1), r.getLong(2), r.getLong(3), r.getLong(4)};
                c.commit();
                return out;
            }
        } catch (SQLException e) {
            if ("40001".equals(e.getSQLState())) {
                return null; // canceling statement due to conflict with recovery
            }
            throw e;
        }
    }

    static String hash(PostgresCluster pg, String tableOrderBy) throws SQLException {
        String table = tableOrderBy.substring(0, tableOrderBy.indexOf(' '));
        String order = tableOrderBy.substring(tableOrderBy.indexOf(" ORDER BY ") + 10);
        try (Connection c = pg.connect(); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY " + order
                     + ")), '') FROM " + table + " t")) {
            r.next();
            return r.getString(1);
        }
    }

    static ServerInfoReply serverInfo(int port) throws InterruptedException {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            return PageServerGrpc.newBlockingStub(ch).serverInfo(ServerInfoRequest.getDefaultInstance());
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
