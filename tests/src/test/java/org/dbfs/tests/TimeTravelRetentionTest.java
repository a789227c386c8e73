package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.dbfs.protocol.pageserver.v1.ResolvePointRequest;
import org.dbfs.protocol.pageserver.v1.SnapshotInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Garbage collection and a live time-travel mount, with a 10 s retention window: while the mount
 * at X lives, its reader lease holds the horizon at or below X although the primary rewrites the
 * table again and again, and a standby restarted on the mount (caches dropped, so every page comes
 * from the page server again) still shows the table as of X. Once it is unmounted, the horizon
 * passes X, the bucket shrinks by the old versions, the snapshot it started from is deleted, and a
 * new mount at X fails naming the horizon.
 */
class TimeTravelRetentionTest {
    @TempDir
    Path tmp;

    @Test
    void aLiveTimeTravelMountKeepsItsPointAndGivesItUpWhenUnmounted() throws Exception {
        Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
        int walPort = PostgresCluster.freePort();
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.startPageServer(List.of("--walservice", "127.0.0.1:" + walPort, "--snapshot-check", "500ms",
                    "--retention", "10s", "--gc-interval", "1s", "--gc-grace", "1s", "--pack-interval-ms", "500"));
            stack.mount();
            int port = stack.pageServer().port();
            String pageServer = "127.0.0.1:" + port;
            Path segments = stack.root().resolve("bucket").resolve("segments");
            try (PostgresCluster primary = PostgresCluster.initdb(stack.dataDirectory(), work.resolve("primary"),
                    List.of(PostgresOnDbfsTest.PRIMARY_CONF, PrimaryWithWalService.CONF))) {
                primary.start();
                WalServiceProcess svc = WalServiceProcess.start("host=127.0.0.1 port=" + primary.port() + " user=postgres",
                        tmp.resolve("wal-bucket"), tmp.resolve("walservice"), tmp.resolve("logs"), walPort);
                try (ReplicaOnDbfs r = new ReplicaOnDbfs(tmp.resolve("tt"))) {
                    String restore = WalServiceForPostgres.restoreCommand(tmp.resolve("walservice-command"), tmp.resolve("wal-bucket"));
                    TimeTravelTest.execute(primary, "CREATE TABLE big (id int PRIMARY KEY, v text) WITH (fillfactor = 100)",
                            "INSERT INTO big SELECT g, repeat('a', 200) FROM generate_series(1, 20000) g");
                    // The WAL service started mid-segment: a snapshot needs its redo point's whole segment.
                    TimeTravelTest.execute(primary, "SELECT pg_switch_wal()");
                    TimeTravelTest.checkpointAndAwaitSnapshot(primary, port);
                    long x = primary.queryLong("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint");
                    String hashX = TimeTravelTest.hash(primary, "big");
                    long at = r.mountAt(pageServer, ResolvePointRequest.newBuilder().setLsn(x).build());
                    String used = snapshotOf(r.overlay);
                    PostgresCluster standby = r.configureAndStart("", restore);
                    TimeTravelTest.awaitPaused(r, standby, 180);
                    assertEquals(hashX, TimeTravelTest.hash(standby, "big"));

                    // Rewrites, checkpoints (new snapshots) and GC passes, far past the 10 s window: at
                    // least 25 s, and on until a pass says the mount's lease is what holds the horizon.
                    long started = System.nanoTime();
                    int rounds = 0;
                    while (System.nanoTime() - started < 25_000_000_000L
                            || (!heldByTheMount(stack) && System.nanoTime() - started < 120_000_000_000L)) {
                        TimeTravelTest.execute(primary, "UPDATE big SET v = repeat(chr(98 + " + (rounds % 20) + "), 200)",
                                "VACUUM big", "CHECKPOINT");
                        rounds++;
                    }
                    long held = horizon(port);
                    System.out.printf("after %d rewrites in %d s: horizon %s, mount at %s%n", rounds,
                            (System.nanoTime() - started) / 1_000_000_000L, fmt(held), fmt(at));
                    assertTrue(Long.compareUnsigned(held, at) <= 0, "the horizon " + fmt(held) + " passed the live mount's " + fmt(at));
                    assertTrue(heldByTheMount(stack), "no GC pass held by the mount's lease:\n" + stack.pageServer().stderr());
                    long heldBytes = GarbageCollectionTest.bytesUnder(segments);

                    standby.stop();
                    Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3\n"); // the next reads reach the page server
                    r.start();
                    TimeTravelTest.awaitPaused(r, r.pg(), 180);
                    assertEquals(at, r.replayLsn());
                    assertEquals(hashX, TimeTravelTest.hash(r.pg(), "big"), "the table as of the mount's point after GC passes");

                    r.close(); // stops PostgreSQL, unmounts, releases the reader lease
                    await("the horizon to pass the released point " + fmt(at), 60,
                            () -> Long.compareUnsigned(horizon(port), at) > 0);
                    await("GC to delete the snapshot the mount started from", 30, () -> TimeTravelTest.snapshots(port)
                            .getSnapshotsList().stream().map(SnapshotInfo::getName).noneMatch(used::equals));
                    long[] freed = new long[1];
                    await("the bucket to shrink by the versions the mount kept", 60, () -> {
                        try {
                            freed[0] = heldBytes - GarbageCollectionTest.bytesUnder(segments);
                        } catch (IOException e) {
                            throw new RuntimeException(e);
                        }
                        return freed[0] > heldBytes / 4;
                    });
                    System.out.printf("released: segments %,d bytes while held, %,d fewer after (%s)%n", heldBytes, freed[0],
                            "snapshot " + used + " deleted");
                    IOException refused = assertThrows(IOException.class, () -> new ReplicaOnDbfs(tmp.resolve("again"))
                            .mountAt(pageServer, ResolvePointRequest.newBuilder().setLsn(x).build()));
                    System.out.println("a new mount at the released point: " + refused.getMessage());
                    assertTrue(refused.getMessage().contains("retention horizon"), refused.getMessage());
                } finally {
                    svc.close();
                }
            }
        }
    }

    /** A GC pass logged that a time-travel mount's reader lease holds the horizon. */
    private static boolean heldByTheMount(DbfsStack stack) {
        try {
            return stack.pageServer().stderr().lines().anyMatch(l -> l.contains("gc: horizon") && l.contains("timetravel-"));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static long horizon(int port) {
        try {
            return ReadOnlyReplicaTest.serverInfo(port).getGcHorizonLsn();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String snapshotOf(Path overlay) throws IOException {
        String auto = Files.readString(overlay.resolve("data").resolve("postgresql.auto.conf"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(snapshot (snapshots/[^)]+)\\)").matcher(auto);
        assertTrue(m.find(), auto);
        return m.group(1);
    }
}
