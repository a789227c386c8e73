package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.dbfs.pageserver.server.PageServerProcess;
import org.dbfs.pgformat.page.Page;
import org.dbfs.pgformat.redo.Masking;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.framed.FramedClient;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnReply;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnRequest;
import org.dbfs.protocol.pageserver.v1.PageBase;
import org.dbfs.protocol.pageserver.v1.PageRef;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;
import org.dbfs.protocol.pageserver.v1.RelTag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GetPage@LSN end to end, with a stock standby as the oracle: PostgreSQL 15 runs on a DbFS mount
 * (so the page server holds the versions it wrote), with the WAL service as its synchronous
 * standby and the page server's --walservice. A standby made with pg_basebackup replays the same WAL
 * and pauses at LSN X (recovery_target_lsn, recovery_target_inclusive = off, recovery_target_action
 * = pause); then every block of every pgbench table and index, main fork and visibility map, read
 * on the standby with pageinspect's get_raw_page, must equal the page server's GetPage@LSN X: after
 * PostgreSQL's masking for heap and b-tree pages (hint bits are not WAL-logged), with the same pd_lsn,
 * and byte for byte for the visibility map. The workload after X (more pgbench, a checkpoint) gives
 * the page server versions newer than X, which it must not return.
 */
class GetPageAtLsnTest {
    private static final List<String> TABLES = List.of("pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history");
    private static final List<String> INDEXES = List.of("pgbench_accounts_pkey", "pgbench_branches_pkey", "pgbench_tellers_pkey");

    @TempDir
    Path tmp;

    @Test
    void everyPgbenchBlockAtXEqualsAStandbyPausedAtX() throws Exception {
        Path work = tmp.resolve("work");
        Files.createDirectories(work);
        int walPort = PostgresCluster.freePort();
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.startPageServer(List.of("--walservice", "127.0.0.1:" + walPort));
            stack.mount();
            PostgresCluster.makeTraversableForPostgres(work);
            PostgresCluster.chownToPostgres(work);
            try (PostgresCluster primary = PostgresCluster.initdb(stack.dataDirectory(), work.resolve("primary"),
                    List.of(PostgresOnDbfsTest.PRIMARY_CONF, PrimaryWithWalService.CONF))) {
                primary.start();
                WalServiceProcess svc = WalServiceProcess.start("host=127.0.0.1 port=" + primary.port() + " user=postgres",
                        tmp.resolve("wal-bucket"), tmp.resolve("walservice"), tmp.resolve("logs"), walPort);
                try {
                    run(primary, "CREATE EXTENSION pageinspect");
                    primary.pgbench(work, "-i", "-s", "2", "-q");
                    Path standbyData = work.resolve("standby");
                    primary.baseBackup(standbyData, work.resolve("basebackup.log"), "-R");
                    primary.pgbench(work, "-c", "4", "-T", "4");
                    run(primary, "CHECKPOINT");
                    primary.pgbench(work, "-c", "4", "-T", "4");
                    run(primary, "VACUUM pgbench_tellers"); // visibility-map sets and clears around X
                    primary.pgbench(work, "-c", "2", "-T", "2");
                    long x = primary.queryLong("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint");
                    primary.pgbench(work, "-c", "4", "-T", "3");
                    run(primary, "CHECKPOINT"); // the page server now also holds versions newer than X
                    System.out.printf("X = %s, primary now at %s%n", fmt(x),
                            fmt(primary.queryLong("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")));

                    try (PostgresCluster standby = startStandbyPausedAt(standbyData, work, x)) {
                        compareEveryBlock(standby, stack.pageServer(), x);
                        cliWritesThePage(standby, stack, x, work);
                    }
                    beyondTheWalItWaitsThenFails(stack.pageServer(), primary, x);
                } finally {
                    svc.close();
                }
            }
        }
    }

    private static PostgresCluster startStandbyPausedAt(Path data, Path work, long x) throws Exception {
        PostgresCluster standby = PostgresCluster.standby(data, work.resolve("standby-work"),
                "recovery_target_lsn = '" + Lsn.format(x) + "'\n"
                + "recovery_target_inclusive = off\n"
                + "recovery_target_action = 'pause'\n"
                + "hot_standby = on\n");
        standby.start();
        await("the standby to pause at " + fmt(x), 120, () -> {
            try {
                return "paused".equals(string(standby, "SELECT pg_get_wal_replay_pause_state()"));
            } catch (SQLException e) {
                return false; // not accepting connections yet
            }
        });
        long replayed = standby.queryLong("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint");
        System.out.printf("standby paused, replayed up to %s (target %s)%n", fmt(replayed), fmt(x));
        assertTrue(replayed <= x, "the standby replayed past X: " + fmt(replayed));
        return standby;
    }

    private enum Kind { HEAP, BTREE, VM }

    private static void compareEveryBlock(PostgresCluster standby, PageServerProcess ps, long x) throws Exception {
        long db = standby.queryLong("SELECT oid FROM pg_database WHERE datname = 'postgres'");
        Map<PageBase, Integer> bases = new EnumMap<>(PageBase.class);
        Map<Kind, Integer> compared = new EnumMap<>(Kind.class);
        List<String> mismatches = new ArrayList<>();
        long redone = 0;
        long nanos = 0;
        List<Long> times = new ArrayList<>();
        // Timed in the page server's framing, as a replica's mount asks; the checks below this loop use gRPC.
        try (FramedClient framed = new FramedClient(new InetSocketAddress("127.0.0.1", ps.port()), "page server", List::of);
             Connection c = standby.connect();
             PreparedStatement raw = c.prepareStatement("SELECT get_raw_page(?, ?, ?)")) {
            List<String> rels = new ArrayList<>(TABLES);
            rels.addAll(INDEXES);
            for (String rel : rels) {
                long node = standby.queryLong("SELECT pg_relation_filenode('" + rel + "')");
                for (String fork : List.of("main", "vm")) {
                    long blocks = standby.queryLong("SELECT pg_relation_size('" + rel + "', '" + fork + "') / 8192");
                    Kind kind = fork.equals("vm") ? Kind.VM : INDEXES.contains(rel) ? Kind.BTREE : Kind.HEAP;
                    for (long blk = 0; blk < blocks; blk++) {
                        raw.setString(1, rel);
                        raw.setString(2, fork);
                        raw.setLong(3, blk);
                        byte[] theirs;
                        try (ResultSet rs = raw.executeQuery()) {
                            rs.next();
                            theirs = rs.getBytes(1);
                        }
                        long t0 = System.nanoTime();
                        GetPageAtLsnReply mine = framed.call("GetPageAtLsn",
                                request(db, node, fork.equals("vm") ? 2 : 0, blk, x, 30_000), GetPageAtLsnReply.parser());
                        long took = System.nanoTime() - t0;
                        nanos += took;
                        times.add(took);
                        String where = rel + " " + fork + " block " + blk;
                        if (mine.getAbsent()) {
                            mismatches.add(where + ": absent at the page server, the standby has it");
                            continue;
                        }
                        bases.merge(mine.getBase(), 1, Integer::sum);
                        compared.merge(kind, 1, Integer::sum);
                        redone += mine.getRecordsRedone();
                        String diff = difference(kind, blk, theirs, mine.getData().toByteArray());
                        if (diff != null) {
                            mismatches.add(where + " (base " + mine.getBase() + " at " + fmt(mine.getBaseLsn()) + ", "
                                    + mine.getRecordsRedone() + " redone): " + diff);
                        }
                    }
                }
            }
        }
        java.util.Collections.sort(times);
        System.out.printf("GetPage@%s vs standby: compared %s; bases %s; %d records redone; %d mismatches; "
                + "GetPageAtLsn in the page server's framing (first materialization, WAL from the WAL service): mean %.0f us, "
                + "p50 %.0f us, p90 %.0f us, max %.0f us%n", fmt(x), compared, bases, redone, mismatches.size(),
                times.isEmpty() ? 0.0 : nanos / 1e3 / times.size(), percentile(times, 0.5), percentile(times, 0.9),
                percentile(times, 1.0));
        assertTrue(mismatches.isEmpty(), mismatches.size() + " pages differ, e.g.\n"
                + String.join("\n", mismatches.subList(0, Math.min(10, mismatches.size()))));
        assertTrue(compared.getOrDefault(Kind.VM, 0) > 0 && compared.getOrDefault(Kind.BTREE, 0) > 100
                && compared.getOrDefault(Kind.HEAP, 0) > 300, "compared every kind of page: " + compared);
        assertTrue(redone > 0, "some pages needed redo");
        assertTrue(bases.getOrDefault(PageBase.STORED_IMAGE, 0) > 0 && bases.getOrDefault(PageBase.WAL_IMAGE, 0) > 0,
                "bases came both from versions the mount wrote and from the WAL: " + bases);
    }

    private static double percentile(List<Long> sorted, double q) {
        return sorted.isEmpty() ? 0 : sorted.get((int) Math.min(sorted.size() - 1, q * sorted.size())) / 1e3;
    }

    /** Null if the pages agree as the test demands, else what differs. */
    private static String difference(Kind kind, long blk, byte[] theirs, byte[] mine) {
        if (kind == Kind.VM) {
            return java.util.Arrays.equals(theirs, mine) ? null
                    : "visibility map differs at byte " + java.util.Arrays.mismatch(theirs, mine);
        }
        if (java.util.Arrays.equals(theirs, mine)) {
            return null; // also two new (all-zero) pages, e.g. a block the relation was just extended by
        }
        if (Page.lsn(theirs) != Page.lsn(mine)) {
            return "pd_lsn " + fmt(Page.lsn(mine)) + ", the standby's " + fmt(Page.lsn(theirs));
        }
        byte[] a = theirs.clone();
        byte[] b = mine.clone();
        try {
            if (kind == Kind.HEAP) {
                Masking.maskHeap(a, blk);
                Masking.maskHeap(b, blk);
            } else {
                Masking.maskBtree(a);
                Masking.maskBtree(b);
            }
        } catch (org.dbfs.pgformat.page.PageCorruptException e) {
            return "one of the pages is not a valid page (new: standby's " + Page.isNew(theirs) + ", mine " + Page.isNew(mine)
                    + "): " + e.getMessage();
        }
        int at = java.util.Arrays.mismatch(a, b);
        return at < 0 ? null : "masked pages differ at byte " + at;
    }

    /** {@code bin/pageserver getpage}: the file holds the same 8192 bytes the gRPC call returns. */
    private static void cliWritesThePage(PostgresCluster standby, DbfsStack stack, long x, Path work) throws Exception {
        long db = standby.queryLong("SELECT oid FROM pg_database WHERE datname = 'postgres'");
        long node = standby.queryLong("SELECT pg_relation_filenode('pgbench_branches')");
        Path out = work.resolve("branches-0.page");
        CliRun r = cli(List.of("getpage", "--pageserver", "127.0.0.1:" + stack.pageServer().port(), "--rel", "1663/" + db + "/" + node,
                "--fork", "main", "--block", "0", "--lsn", Lsn.format(x), "--out", out.toString()), work);
        assertEquals(0, r.exit, r.stderr);
        assertTrue(r.stdout.contains("block 0 at " + Lsn.format(x) + ": pd_lsn "), r.stdout);
        assertArrayEquals(getPage(stack.pageServer(), db, node, 0, 0, x, 30_000).getData().toByteArray(), Files.readAllBytes(out));
        System.out.print("getpage: " + r.stdout);
    }

    /** An LSN the WAL service has not received: the call waits max_wait_ms, then fails naming where the index stands. */
    private static void beyondTheWalItWaitsThenFails(PageServerProcess ps, PostgresCluster primary, long x) throws Exception {
        long db = primary.queryLong("SELECT oid FROM pg_database WHERE datname = 'postgres'");
        long node = primary.queryLong("SELECT pg_relation_filenode('pgbench_branches')");
        long future = x + (1L << 40);
        long t0 = System.nanoTime();
        try {
            getPage(ps, db, node, 0, 0, future, 1_500);
            throw new AssertionError("GetPage@LSN beyond the WAL returned a page");
        } catch (StatusRuntimeException e) {
            long waitedMs = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(Status.Code.OUT_OF_RANGE, e.getStatus().getCode(), e.toString());
            String msg = e.getStatus().getDescription();
            assertTrue(msg.contains("did not reach " + Lsn.format(future)) && msg.contains("indexed up to"), msg);
            assertTrue(waitedMs >= 1_500, "failed after " + waitedMs + " ms, before the wait was over");
            System.out.println("beyond the WAL: " + msg);
        }
    }

    private static GetPageAtLsnReply getPage(PageServerProcess ps, long db, long node, int fork, long blk, long lsn, int waitMs) {
        PageServerGrpc.PageServerBlockingStub stub = ps.client().withDeadlineAfter(waitMs + 60_000L, TimeUnit.MILLISECONDS);
        return stub.getPageAtLsn(request(db, node, fork, blk, lsn, waitMs));
    }

    private static GetPageAtLsnRequest request(long db, long node, int fork, long blk, long lsn, int waitMs) {
        return GetPageAtLsnRequest.newBuilder()
                .setPage(PageRef.newBuilder().setRel(RelTag.newBuilder().setSpcNode(1663).setDbNode((int) db)
                        .setRelNode((int) node).setForkNum(fork)).setBlockNum((int) blk))
                .setLsn(lsn).setMaxWaitMs(waitMs).build();
    }

    private record CliRun(int exit, String stdout, String stderr) {}

    private static CliRun cli(List<String> args, Path work) throws Exception {
        ProcessBuilder pb = PageServerProcess.command(args, Map.of(), work.resolve("logs"));
        Path err = pb.redirectError().file().toPath();
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "getpage finished");
        return new CliRun(p.exitValue(), out, Files.readString(err));
    }

    private static void run(PostgresCluster pg, String sql) throws SQLException {
        try (Connection c = pg.connect(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static String string(PostgresCluster pg, String sql) throws SQLException {
        try (Connection c = pg.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
