package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The load of the fault tests and its history checker. Bank transfers whose acknowledged COMMITs are
 * logged as they return ({@link BankWorkload}), beside pgbench's TPC-B run in a loop (a fault ends a
 * pgbench run; the next one starts). {@link #check} then asks the database for what the history
 * says must be there: every acknowledged transfer, the bank's unchanged total, and pgbench's
 * invariant, each read in one snapshot while the load goes on.
 */
final class CheckedLoad implements AutoCloseable {
    private final PostgresCluster pg;
    private final Path work;
    private final BankWorkload bank;
    private final Thread pgbenchLoop;
    private volatile boolean stopping;
    private volatile Process pgbench;
    private int pgbenchRuns;

    /** Creates the bank's tables and pgbench's (scale {@code scale}) on {@code pg}; starts nothing yet. */
    CheckedLoad(PostgresCluster pg, Path work, int scale) throws Exception {
        this.pg = pg;
        this.work = work;
        try (Connection c = pg.connect()) {
            BankWorkload.createSchema(c);
        }
        pg.pgbench(work, "-i", "-s", Integer.toString(scale), "-q");
        this.bank = new BankWorkload(pg.port(), work.resolve("acked-" + System.nanoTime() + ".txt"));
        this.pgbenchLoop = Thread.ofPlatform().daemon().name("pgbench-loop").unstarted(this::runPgbench);
    }

    void start(int bankClients) throws IOException {
        bank.start(bankClients, 1);
        pgbenchLoop.start();
    }

    private void runPgbench() {
        while (!stopping) {
            try {
                Process p = new ProcessBuilder(PostgresCluster.BIN.resolve("pgbench").toString(), "-h", "127.0.0.1",
                        "-p", Integer.toString(pg.port()), "-U", "postgres", "-n", "-c", "2", "-j", "1", "-T", "3600", "postgres")
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(work.resolve("pgbench-loop.log").toFile()))
                        .start();
                pgbench = p;
                if (stopping) {
                    p.destroy(); // close() came between the loop's check and the start
                }
                synchronized (this) {
                    pgbenchRuns++;
                }
                p.waitFor();
                if (!stopping) {
                    Thread.sleep(200); // PostgreSQL is down or recovering: start again, as a client would
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    long acknowledged() {
        return bank.ackedCount();
    }

    synchronized int pgbenchRuns() {
        return pgbenchRuns;
    }

    /** Waits until {@code commits} more transfers than now were acknowledged: the stack serves commits again. */
    void awaitCommits(String what, int commits, int seconds) throws InterruptedException {
        long target = bank.ackedCount() + commits;
        PrimaryWithWalService.await(commits + " acknowledged transfers " + what, seconds, () -> bank.ackedCount() >= target);
    }

    /**
     * The history check: every transfer acknowledged before it began is present, the bank's total is
     * unchanged and pgbench's four sums agree. @return how many acknowledged transfers it checked
     */
    long check(String when) throws SQLException {
        List<Long> acked = bank.ackedIds(); // taken first: each of these COMMITs returned before the query below starts
        try (Connection c = pg.connect()) {
            long present;
            try (PreparedStatement q = c.prepareStatement("SELECT count(*) FROM transfers WHERE id = ANY (?)")) {
                q.setArray(1, c.createArrayOf("bigint", acked.toArray()));
                try (ResultSet rs = q.executeQuery()) {
                    rs.next();
                    present = rs.getLong(1);
                }
            }
            assertEquals(acked.size(), present, when + ": acknowledged transfers lost: " + (acked.size() - present));
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT (SELECT sum(balance) FROM accounts),"
                    + " (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(bbalance) FROM pgbench_branches),"
                    + " (SELECT sum(tbalance) FROM pgbench_tellers), (SELECT coalesce(sum(delta), 0) FROM pgbench_history)")) {
                rs.next();
                assertEquals(BankWorkload.TOTAL, rs.getLong(1), when + ": the bank's total changed");
                long accounts = rs.getLong(2);
                assertEquals(accounts, rs.getLong(3), when + ": sum(abalance) = sum(bbalance)");
                assertEquals(accounts, rs.getLong(4), when + ": sum(abalance) = sum(tbalance)");
                assertEquals(accounts, rs.getLong(5), when + ": sum(abalance) = sum(delta)");
            }
        }
        return acked.size();
    }

    /** {@link #check}, recovering from a PANIC of PostgreSQL in between (a late fsync error), which is not a failure. */
    long checkRecovering(String when) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                return check(when);
            } catch (SQLException e) {
                if (attempt == 5) {
                    throw e;
                }
                pg.ensureRunning();
            }
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        stopping = true;
        Process p = pgbench;
        if (p != null) {
            p.destroy();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        pgbenchLoop.interrupt();
        pgbenchLoop.join(30_000);
        bank.close();
    }
}
