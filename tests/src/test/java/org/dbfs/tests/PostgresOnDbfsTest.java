package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.dbfs.bucket.objectstore.S3ProxyServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stock PostgreSQL 15 with its whole data directory on a read-write DbFS mount. */
class PostgresOnDbfsTest {
    static final Path PRIMARY_CONF = Path.of("..", "postgres-conf", "primary.conf");

    @TempDir
    Path tmp;

    static void assertInvariant(PostgresCluster pg) throws SQLException {
        long[] b = pg.balances();
        assertEquals(b[0], b[1], "sum(abalance) = sum(bbalance)");
        assertEquals(b[0], b[2], "sum(abalance) = sum(tbalance)");
        assertEquals(b[0], b[3], "sum(abalance) = sum(delta)");
    }

    static long[] counts(PostgresCluster pg) throws SQLException {
        return new long[] {
            pg.queryLong("SELECT count(*) FROM pgbench_accounts"),
            pg.queryLong("SELECT count(*) FROM pgbench_history"),
            pg.queryLong("SELECT count(*) FROM pgbench_tellers"),
        };
    }

    @Test
    void pgbenchKeepsItsInvariantAndSurvivesARestartOfEverything() throws Exception {
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.startPageServer();
            stack.mount();
            Path work = tmp.resolve("pg");
            try (PostgresCluster pg = PostgresCluster.initdb(stack.dataDirectory(), work, List.of(PRIMARY_CONF))) {
                pg.start();
                pg.pgbench(work, "-i", "-s", "5", "-q");
                String run = pg.pgbench(work, "-c", "4", "-j", "2", "-t", "250");
                assertTrue(run.contains("number of transactions actually processed: 1000"), run);
                assertInvariant(pg);
                assertEquals("", pg.amcheck(work).strip(), "pg_amcheck --heapallindexed reports nothing");
                long[] before = counts(pg);
                assertEquals(500_000, before[0]);
                assertEquals(1000, before[1]);

                pg.stop();
                assertEquals(0, stack.unmount(), "everything durable at unmount");
                stack.killPageServer(); // after a clean unmount: the journal alone must carry the state
                stack.startPageServer();
                stack.mount();
                pg.start();
                assertInvariant(pg);
                assertArrayEquals(before, counts(pg));
            }
        }
    }

    @Test
    void kill9OfThePageServerDuringPgbenchLosesNoAcknowledgedCommit() throws Exception {
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.startPageServer();
            stack.mount();
            Path work = tmp.resolve("pg");
            Path data = stack.dataDirectory();
            PostgresCluster pg = PostgresCluster.initdb(data, work, List.of(PRIMARY_CONF));
            pg.start();
            pg.pgbench(work, "-i", "-s", "2", "-q");
            try (Connection c = pg.connect(); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE acked (id bigint PRIMARY KEY, note text)");
            }
            ConcurrentLinkedQueue<Long> acked = new ConcurrentLinkedQueue<>();
            AtomicBoolean failed = new AtomicBoolean();
            Thread load = new Thread(() -> {
                try {
                    pg.pgbench(work, "-c", "2", "-j", "1", "-T", "120");
                } catch (Exception expected) {
                    // pgbench fails once the storage goes away
                }
            });
            Thread recorder = new Thread(() -> {
                try (Connection c = pg.connect();
                     PreparedStatement insert = c.prepareStatement("INSERT INTO acked VALUES (?, 'committed')")) {
                    for (long id = 1; ; id++) {
                        insert.setLong(1, id);
                        insert.executeUpdate(); // autocommit: returns only after COMMIT returned
                        acked.add(id);
                    }
                } catch (SQLException e) {
                    failed.set(true);
                }
            });
            load.start();
            recorder.start();
            long deadline = System.nanoTime() + 300_000_000_000L;
            while (acked.size() < 300 && recorder.isAlive()) {
                assertTrue(System.nanoTime() < deadline, "too few commits: " + acked.size());
                Thread.sleep(50); // polling progress with a deadline
            }
            stack.killPageServer();
            recorder.join(300_000);
            assertTrue(failed.get(), "the recorder sees the storage fail");
            pg.crashStop(); // PostgreSQL may have panicked already
            stack.unmount();
            load.join(300_000);

            stack.startPageServer();
            stack.mount();
            try (PostgresCluster again = PostgresCluster.existing(data, work)) {
                again.start(); // crash recovery
                List<Long> ids = List.copyOf(acked);
                long present;
                try (Connection c = again.connect();
                     PreparedStatement q = c.prepareStatement("SELECT count(*) FROM acked WHERE id = ANY (?)")) {
                    q.setArray(1, c.createArrayOf("bigint", ids.toArray()));
                    var rs = q.executeQuery();
                    rs.next();
                    present = rs.getLong(1);
                }
                assertEquals(ids.size(), present, "every acknowledged commit survives");
                assertInvariant(again);
                assertEquals("", again.amcheck(work).strip());
            }
        }
    }

    @Test
    void theWholeStackRunsOnAnS3CompatibleServer() throws Exception {
        try (S3ProxyServer s3 = S3ProxyServer.start(tmp.resolve("s3"))) {
            try (DbfsStack stack = DbfsStack.onS3(s3, tmp.resolve("stack"), "--pack-interval-ms", "1000")) {
                stack.startPageServer();
                stack.mount();
                Path work = tmp.resolve("pg");
                try (PostgresCluster pg = PostgresCluster.initdb(stack.dataDirectory(), work, List.of(PRIMARY_CONF))) {
                    pg.start();
                    pg.pgbench(work, "-i", "-s", "1", "-q");
                    pg.pgbench(work, "-c", "2", "-j", "2", "-t", "100");
                    assertInvariant(pg);
                    long[] before = counts(pg);
                    pg.stop();
                    assertEquals(0, stack.unmount());
                    stack.killPageServer();
                    stack.startPageServer();
                    stack.mount();
                    pg.start();
                    assertInvariant(pg);
                    assertArrayEquals(before, counts(pg));
                }
            }
        }
    }
}
