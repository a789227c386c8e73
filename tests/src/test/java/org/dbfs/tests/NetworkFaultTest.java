package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Network faults between the mount and the page server, through a {@link TcpProxy}: every
 * connection reset, or every byte stalled for a while, in the middle of pgbench and a CHECKPOINT
 * (whose fsyncs are then in flight). The mount reconnects, and no fsync reports success for data
 * the page server did not make durable: after each fault PostgreSQL is crashed and recovers from
 * the storage alone (its last checkpoint and the WAL after it), and the history check finds every
 * acknowledged transfer. Cycles: {@code -Ddbfs.faults.networkCycles} (CI 1 of each kind).
 */
class NetworkFaultTest {
    private static final int CYCLES = Integer.getInteger("dbfs.faults.networkCycles", 1);
    private static final int COMMITS_PER_CYCLE = 100;
    private static final long STALL_MILLIS = 5_000;

    @TempDir
    Path tmp;

    @Test
    void dropsAndStallsBetweenMountAndPageServerLoseNoAcknowledgedCommit() throws Exception {
        Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
        int dropped = 0;
        int stalled = 0;
        long checked = 0;
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.startPageServer();
            try (TcpProxy proxy = TcpProxy.start(stack.pageServer().port());
                 MountProcess mount = MountProcess.start(List.of("--rw", "--pageserver", "127.0.0.1:" + proxy.port()),
                         stack.mountPoint(), tmp.resolve("logs"))) {
                PostgresCluster pg = PostgresCluster.initdb(stack.dataDirectory(), work, List.of(PostgresOnDbfsTest.PRIMARY_CONF));
                pg.start();
                try (CheckedLoad load = new CheckedLoad(pg, work, 2)) {
                    load.start(2);
                    for (int cycle = 1; cycle <= 2 * CYCLES; cycle++) {
                        boolean drop = cycle % 2 == 1;
                        load.awaitCommits("before network fault " + cycle, COMMITS_PER_CYCLE, 300);
                        String checkpointerWait;
                        CompletableFuture<String> checkpoint;
                        // Both connections opened, and the monitor's query run once, before the stall: a new
                        // backend, or a first query, reads catalogs from the mount.
                        Connection monitor = pg.connect();
                        Connection checkpointer = pg.connect();
                        checkpointerWaitEvent(monitor);
                        proxy.stall();
                        long stallStart = System.nanoTime();
                        checkpoint = checkpointAsync(checkpointer);
                        checkpointerWait = CompletableFuture.supplyAsync(() -> awaitCheckpointerIo(monitor))
                                .completeOnTimeout("checkpointer state unknown (the monitor's query waited on the mount)",
                                        3, TimeUnit.SECONDS).get();
                        String fault;
                        if (drop) {
                            proxy.dropAll(); // in-flight writes and fsyncs fail; nothing reached the page server twice
                            proxy.resume();
                            dropped++;
                            fault = "every connection reset";
                        } else {
                            long left = STALL_MILLIS - (System.nanoTime() - stallStart) / 1_000_000;
                            if (left > 0) {
                                Thread.sleep(left); // the fault under test is a stall of this length
                            }
                            proxy.resume();
                            stalled++;
                            fault = "every byte stalled for " + (System.nanoTime() - stallStart) / 1_000_000 + " ms";
                        }
                        String outcome = checkpoint.get();
                        checkpointer.close();
                        monitor.close();
                        // Recover from the storage alone: whatever PostgreSQL was told was durable must be there.
                        pg.crashStop();
                        KillNineCyclesTest.ensureRunning(pg);
                        load.awaitCommits("after network fault " + cycle, COMMITS_PER_CYCLE, 300);
                        checked = KillNineCyclesTest.checkWhileRecovering(load, pg, "network fault " + cycle);
                        System.out.printf("cycle %d: %s; a CHECKPOINT in it (%s) %s; crash recovery, then %d acknowledged"
                                + " transfers checked, none lost%n", cycle, fault, checkpointerWait, outcome, checked);
                    }
                }
                assertEquals("", pg.amcheck(work).strip(), "pg_amcheck --heapallindexed");
                pg.stop();
            }
        }
        assertTrue(dropped >= 1 && stalled >= 1);
        System.out.printf("network faults: %d resets, %d stalls of %d ms; %d acknowledged transfers checked, lost 0%n",
                dropped, stalled, STALL_MILLIS, checked);
    }

    /**
     * Waits (up to 10 s) until the checkpointer waits on I/O, its writes or fsyncs held up by the
     * stall, so that the fault hits them in flight. @return its wait event, or what it did instead
     */
    private static String awaitCheckpointerIo(Connection monitor) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        String seen = "none";
        try {
            while (System.nanoTime() < deadline) {
                seen = checkpointerWaitEvent(monitor);
                if (seen.startsWith("IO/")) {
                    return "checkpointer in " + seen;
                }
                Thread.sleep(20); // polling the checkpointer's progress with a deadline
            }
        } catch (SQLException | InterruptedException e) {
            return "checkpointer state unknown (" + e.getMessage() + ")";
        }
        return "checkpointer not in I/O within 10 s (last " + seen + ")";
    }

    private static String checkpointerWaitEvent(Connection monitor) throws SQLException {
        try (Statement s = monitor.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE backend_type = 'checkpointer'")) {
            return rs.next() ? rs.getString(1) + "/" + rs.getString(2) : "no checkpointer";
        }
    }

    /** A CHECKPOINT on its own connection: its outcome ("ok" or the error PostgreSQL gave). */
    private static CompletableFuture<String> checkpointAsync(Connection c) {
        return CompletableFuture.supplyAsync(() -> {
            try (Statement s = c.createStatement()) {
                s.execute("CHECKPOINT");
                return "ok";
            } catch (SQLException e) {
                return "failed (" + e.getMessage().lines().findFirst().orElse("") + ")";
            }
        });
    }
}
