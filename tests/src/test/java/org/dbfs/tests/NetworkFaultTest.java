package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
    private static final long HANG_BEFORE_RESET_MILLIS = 2_000; // long enough for the CHECKPOINT to reach its fsyncs

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
                        // Opened before the stall: a new backend reads catalogs from the mount as it starts.
                        Connection checkpointer = pg.connect();
                        proxy.stall();
                        long stallStart = System.nanoTime();
                        CompletableFuture<String> checkpoint = checkpointAsync(checkpointer);
                        // The fault under test: a link that hangs for a while, then either dies (every
                        // connection reset, the requests in flight with it) or comes back.
                        Thread.sleep(drop ? HANG_BEFORE_RESET_MILLIS : STALL_MILLIS);
                        if (drop) {
                            proxy.dropAll();
                            dropped++;
                        } else {
                            stalled++;
                        }
                        proxy.resume();
                        long hungMillis = (System.nanoTime() - stallStart) / 1_000_000;
                        String fault = drop ? "every connection hung for " + hungMillis + " ms, then reset"
                                : "every byte stalled for " + hungMillis + " ms";
                        String outcome = checkpoint.get();
                        checkpointer.close();
                        // Recover from the storage alone: whatever PostgreSQL was told was durable must be there.
                        pg.crashStop();
                        pg.ensureRunning();
                        load.awaitCommits("after network fault " + cycle, COMMITS_PER_CYCLE, 300);
                        checked = load.checkRecovering("network fault " + cycle);
                        System.out.printf("cycle %d: %s; the CHECKPOINT in it: %s; crash recovery, then %d acknowledged"
                                + " transfers checked, none lost%n", cycle, fault, outcome, checked);
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
