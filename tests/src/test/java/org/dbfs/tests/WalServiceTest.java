package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.protocol.walservice.v1.Positions;
import org.dbfs.protocol.walservice.v1.ReadWalRequest;
import org.dbfs.protocol.walservice.v1.WalChunk;
import org.dbfs.walservice.replication.WalReceiver;
import org.dbfs.walservice.wal.WalSegments;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The WAL service as PostgreSQL 15's synchronous standby: commits wait for it, and what it keeps is the primary's WAL. */
class WalServiceTest {
    @TempDir
    Path tmp;

    @Test
    void commitWaitsForTheWalServiceThenItsWalIsArchivedAndServed() throws Exception {
        try (PrimaryWithWalService p = PrimaryWithWalService.start(tmp)) {
            long firstFlushed;
            try (WalServiceProcess svc = p.startService()) {
                long primaryFlush = p.lsn("pg_current_wal_flush_lsn()");
                await("the service to be durable up to the primary's flush LSN", 60, () -> svc.positions().getFlushedLsn() >= primaryFlush);
                firstFlushed = svc.positions().getFlushedLsn();
                try (Connection c = p.pg.connect(); Statement s = c.createStatement()) {
                    s.execute("CREATE TABLE t (id int, payload text)");
                }
            }
            await("the primary to notice the service is gone", 60, () -> count(p, "SELECT count(*) FROM pg_stat_replication") == 0);

            long before = p.lsn("pg_current_wal_insert_lsn()");
            CompletableFuture<Void> commit = CompletableFuture.runAsync(() -> {
                try (Connection c = p.pg.connect(); Statement s = c.createStatement()) {
                    s.execute("INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            await("the COMMIT to wait for the synchronous standby", 30,
                    () -> count(p, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'") == 1);
            assertThrows(TimeoutException.class, () -> commit.get(2, TimeUnit.SECONDS),
                    "with the WAL service stopped the COMMIT must not return");

            try (WalServiceProcess svc = p.startService()) {
                commit.get(60, TimeUnit.SECONDS);
                long flush = p.lsn("pg_current_wal_flush_lsn()");
                Positions pos = svc.positions();
                assertTrue(pos.getFlushedLsn() >= flush - 0, "acknowledged commit is durable in the service: flushed="
                        + fmt(pos.getFlushedLsn()) + " primary flush=" + fmt(flush));
                List<Positions> samples = new ArrayList<>();
                await("the commit to reach the archive", 30, () -> {
                    Positions now = svc.positions();
                    samples.add(now);
                    return now.getArchivedLsn() >= flush;
                });
                assertMonotonic(samples);

                try (ObjectStore store = p.openBucket()) {
                    byte[] archived = p.archiveReader(store).read(before, flush);
                    assertArrayEquals(p.primaryWal(before, flush), archived,
                            "archived WAL " + fmt(before) + ".." + fmt(flush) + " equals the primary's pg_wal");
                }

                // ReadWal, from the very first byte the service kept to the commit, equals pg_wal.
                long start = svc.positions().getArchivedLsn() > 0 ? firstStart(p) : before;
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                long expect = start;
                var it = svc.client().readWal(ReadWalRequest.newBuilder().setStartLsn(start).setEndLsn(flush).build());
                while (it.hasNext()) {
                    WalChunk chunk = it.next();
                    assertEquals(expect, chunk.getStartLsn(), "chunks arrive in order without gaps");
                    expect += chunk.getData().size();
                    chunk.getData().writeTo(got);
                }
                assertArrayEquals(p.primaryWal(start, flush), got.toByteArray(), "ReadWal " + fmt(start) + ".." + fmt(flush));
                assertTrue(firstFlushed <= flush);

                // WAL that does not exist yet: a clear OUT_OF_RANGE after the wait.
                long future = svc.positions().getFlushedLsn() + (64L << 20);
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> svc.client().readWal(
                        ReadWalRequest.newBuilder().setStartLsn(future - 10).setEndLsn(future).setMaxWaitMs(300).build()).hasNext());
                assertEquals(Status.Code.OUT_OF_RANGE, e.getStatus().getCode(), e.toString());
                assertTrue(e.getStatus().getDescription().contains("did not become durable"), e.toString());

                samples.add(svc.positions());
                assertMonotonic(samples);
            }
        }
    }

    @Test
    void localSegmentsGoOnceArchivedAndIndexedAndReadWalServesThemFromTheArchive() throws Exception {
        try (PrimaryWithWalService p = PrimaryWithWalService.start(tmp);
             WalServiceProcess svc = p.startService()) {
            long start = p.lsn("pg_current_wal_flush_lsn()");
            await("the service to reach the primary", 60, () -> svc.positions().getFlushedLsn() >= start);
            try (Connection c = p.pg.connect(); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE t (id int, payload text)");
                for (int i = 0; i < 4; i++) {
                    s.execute("INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g");
                    s.execute("SELECT pg_switch_wal()");
                }
            }
            long flush = p.lsn("pg_current_wal_flush_lsn()");
            WalSegments segs = new WalSegments(16 << 20);
            Path firstLocal = WalReceiver.walDir(p.dataDir).resolve(segs.fileNameFor(1, start));
            await("archived and indexed past four segment switches", 120, () -> svc.positions().getArchivedLsn() >= flush
                    && svc.positions().getIndexedLsn() >= flush);
            await("the first local segment " + firstLocal.getFileName() + " to be deleted", 60, () -> !Files.exists(firstLocal));
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            var it = svc.client().readWal(ReadWalRequest.newBuilder().setStartLsn(start).setEndLsn(flush).build());
            while (it.hasNext()) {
                it.next().getData().writeTo(got);
            }
            assertArrayEquals(p.primaryWal(start, flush), got.toByteArray(), "served from the archive once gone locally");
            assertTrue(svc.log().contains("deleted") && svc.log().contains("local WAL segments"), svc.log());
        }
    }

    private static long firstStart(PrimaryWithWalService p) throws Exception {
        try (ObjectStore store = p.openBucket()) {
            return p.archiveReader(store).catalog().start();
        }
    }

    static void assertMonotonic(List<Positions> samples) {
        for (int i = 0; i < samples.size(); i++) {
            Positions s = samples.get(i);
            assertTrue(s.getFlushedLsn() >= s.getArchivedLsn(), "flushed >= archived: " + s);
            assertTrue(s.getReceivedLsn() >= s.getFlushedLsn(), "received >= flushed: " + s);
            if (i > 0) {
                Positions prev = samples.get(i - 1);
                assertTrue(s.getFlushedLsn() >= prev.getFlushedLsn(), "flushed moves forward only");
                assertTrue(s.getArchivedLsn() >= prev.getArchivedLsn(), "archived moves forward only");
                assertTrue(s.getReceivedLsn() >= prev.getReceivedLsn(), "received moves forward only");
            }
        }
    }

    static long count(PrimaryWithWalService p, String sql) {
        try {
            return p.pg.queryLong(sql);
        } catch (SQLException e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void wrongPassphraseExitsWith2AndUnreachablePrimaryIsRetried() throws Exception {
        Path bucket = tmp.resolve("bucket");
        // First start creates the bucket's key with the right passphrase; the primary is nowhere.
        int deadPort;
        try (var s = new java.net.ServerSocket(0)) {
            deadPort = s.getLocalPort();
        }
        try (WalServiceProcess svc = WalServiceProcess.start("host=127.0.0.1 port=" + deadPort + " user=postgres", bucket,
                tmp.resolve("data"), tmp.resolve("logs"))) {
            await("two reconnect attempts in the log", 30, () -> {
                try {
                    return svc.log().split("reconnecting in", -1).length > 2;
                } catch (java.io.IOException e) {
                    throw new RuntimeException(e);
                }
            });
            assertTrue(svc.isAlive(), "an unreachable primary is retried, not fatal");
            assertFalse(svc.positions().getPrimaryConnected());
            assertTrue(svc.log().contains("lost the primary"), svc.log());
        }

        Path log = tmp.resolve("logs").resolve("wrong.log");
        Process wrong = WalServiceProcess.spawn(List.of("--primary", "host=127.0.0.1 port=" + deadPort, "--slot", "walservice",
                "--bucket", bucket.toUri().toString(), "--data-dir", tmp.resolve("data2").toString(), "--listen", "127.0.0.1:0"),
                "not the passphrase", log);
        assertTrue(wrong.waitFor(60, TimeUnit.SECONDS));
        String err = java.nio.file.Files.readString(log);
        assertEquals(2, wrong.exitValue(), err);
        assertTrue(err.contains("wrong passphrase"), err);
        assertFalse(java.nio.file.Files.exists(tmp.resolve("data2")), "bad input touches nothing locally");
    }
}
