package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of each part of the stack in turn, cycle after cycle, under load: the page server (the
 * mount reaches it over TCP and stays mounted), the read-write mount (PostgreSQL on it crashes with
 * it and restarts on a new mount), and the WAL service (PostgreSQL's synchronous standby: commits
 * wait, then go on). After every restart the history check of {@link CheckedLoad} runs: every
 * acknowledged transfer present, the totals and pgbench's invariant intact. Cycles per part:
 * {@code -Ddbfs.faults.killCycles} (CI runs the reduced 1; {@code scripts/faults --full} 20).
 */
class KillNineCyclesTest {
    private static final int CYCLES = Integer.getInteger("dbfs.faults.killCycles", 1);
    private static final int COMMITS_PER_CYCLE = 100;

    enum Part { PAGE_SERVER, MOUNT, WAL_SERVICE }

    @TempDir
    Path tmp;

    @Test
    void everyAcknowledgedCommitSurvivesKill9OfEachPartUnderLoad() throws Exception {
        Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
        Path logs = tmp.resolve("logs");
        int walPort = PostgresCluster.freePort();
        int pageServerPort = PostgresCluster.freePort();
        List<String> pageServerArgs = List.of("--walservice", "127.0.0.1:" + walPort);
        List<String> mountArgs = List.of("--rw", "--pageserver", "127.0.0.1:" + pageServerPort);
        Map<Part, Integer> kills = new EnumMap<>(Part.class);
        Map<Part, Long> recoveryMillis = new EnumMap<>(Part.class);
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.usePort(pageServerPort);
            stack.startPageServer(pageServerArgs);
            MountProcess mount = MountProcess.start(mountArgs, stack.mountPoint(), logs);
            PostgresCluster pg = PostgresCluster.initdb(stack.dataDirectory(), work,
                    List.of(PostgresOnDbfsTest.PRIMARY_CONF, PrimaryWithWalService.CONF));
            pg.start();
            WalServiceProcess svc = WalServiceProcess.start("host=127.0.0.1 port=" + pg.port() + " user=postgres",
                    tmp.resolve("wal-bucket"), tmp.resolve("walservice"), logs, walPort);
            CheckedLoad load = new CheckedLoad(pg, work, 2);
            long checked = 0;
            try {
                load.start(2);
                for (int cycle = 0; cycle < CYCLES * Part.values().length; cycle++) {
                    Part part = Part.values()[cycle % Part.values().length];
                    load.awaitCommits("before kill " + (cycle + 1), COMMITS_PER_CYCLE, 300);
                    long killed = System.nanoTime();
                    switch (part) {
                        case PAGE_SERVER -> {
                            stack.killPageServer();
                            stack.startPageServer(pageServerArgs);
                            // PostgreSQL saw EIO while it was gone: it may have panicked and restarted, or given up.
                            pg.ensureRunning();
                        }
                        case MOUNT -> {
                            mount.kill9();
                            pg.crashStop(); // its open files were on the dead mount
                            mount = MountProcess.start(mountArgs, stack.mountPoint(), logs);
                            pg.start(); // crash recovery
                        }
                        case WAL_SERVICE -> {
                            svc.kill9();
                            svc = WalServiceProcess.start("host=127.0.0.1 port=" + pg.port() + " user=postgres",
                                    tmp.resolve("wal-bucket"), tmp.resolve("walservice"), logs, walPort);
                        }
                    }
                    load.awaitCommits("after kill -9 of the " + part, COMMITS_PER_CYCLE, 300);
                    long millis = (System.nanoTime() - killed) / 1_000_000;
                    checked = load.checkRecovering(part + " kill " + (cycle + 1));
                    kills.merge(part, 1, Integer::sum);
                    recoveryMillis.merge(part, millis, Math::max);
                    System.out.printf("cycle %d: kill -9 of the %s; %d commits again after %d ms; %d acknowledged transfers"
                            + " checked, none lost%n", cycle + 1, part, COMMITS_PER_CYCLE, millis, checked);
                }
                load.close();
                checked = load.check("at the end");
                assertTrue(checked > CYCLES * 3L * COMMITS_PER_CYCLE, "the load ran: " + checked);
                System.out.printf("kill -9 cycles: %s; acknowledged transfers checked %d, lost 0; pgbench runs %d;"
                        + " slowest recovery to %d commits per part (ms) %s%n", kills, checked, load.pgbenchRuns(),
                        COMMITS_PER_CYCLE, recoveryMillis);
                // Before the WAL service goes: pg_amcheck's CREATE EXTENSION commits, and waits for it.
                assertEquals("", pg.amcheck(work).strip(), "pg_amcheck --heapallindexed");
                pg.stop();
            } finally {
                load.close();
                svc.close();
                mount.close();
            }
        }
    }
}
