package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's scenario of issue 11, with PostgreSQL 15 on the mount: after a clean stop of
 * everything, a page server with an empty cache directory (a new machine) serves exactly the last
 * state, marker table included; after kill -9 with unpacked writes it refuses instead of rewinding,
 * and the original cache directory serves everything.
 */
class BucketIsTheTruthTest {
    /** Nothing is packed while PostgreSQL runs: the journal alone holds every write until the stop. */
    static final List<String> NO_PACKING = List.of("--pack-bytes", "1000000000000", "--pack-interval-ms", "3600000");

    @TempDir
    Path tmp;

    static void createMarker(PostgresCluster pg) throws Exception {
        try (Connection c = pg.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE marker (id int PRIMARY KEY, note text)");
            s.execute("INSERT INTO marker SELECT g, 'row ' || g FROM generate_series(1, 1000) g");
            s.execute("CHECKPOINT");
        }
    }

    static void assertMarker(PostgresCluster pg) throws Exception {
        assertEquals(1000, pg.queryLong("SELECT count(*) FROM marker"));
        assertEquals(500500, pg.queryLong("SELECT sum(id) FROM marker"));
    }

    /** pgbench's tables and the marker, then PostgreSQL stopped and the mount unmounted with everything durable. */
    static void loadAndStop(DbfsStack stack, PostgresCluster pg, Path work) throws Exception {
        pg.pgbench(work, "-i", "-s", "2", "-q");
        createMarker(pg);
        pg.stop();
        assertEquals(0, stack.unmount());
    }

    /** A page server that packs nothing on its own, the mount, and PostgreSQL initialized and started on it. */
    static PostgresCluster startPrimary(DbfsStack stack, Path work) throws Exception {
        stack.startPageServer(NO_PACKING);
        stack.mount();
        PostgresCluster pg = PostgresCluster.initdb(stack.dataDirectory(), work, List.of(PostgresOnDbfsTest.PRIMARY_CONF));
        pg.start();
        return pg;
    }

    @Test
    void afterACleanStopTheBucketAloneServesTheLastState() throws Exception {
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            Path work = tmp.resolve("pg");
            try (PostgresCluster pg = startPrimary(stack, work)) {
                pg.pgbench(work, "-i", "-s", "3", "-q");
                pg.pgbench(work, "-c", "2", "-j", "2", "-t", "200");
                createMarker(pg);
                long[] before = PostgresOnDbfsTest.counts(pg);
                pg.stop();
                assertEquals(0, stack.unmount(), "everything durable at unmount");
                assertEquals(0, stack.stopPageServerCleanly(), "SIGTERM: a clean stop exits 0");

                stack.useCacheDir("cache-on-a-new-machine");
                stack.startPageServer();
                stack.mount();
                pg.start();
                assertFalse(pg.log().contains("was not properly shut down"),
                        "PostgreSQL finds its clean shutdown, not an older state to recover from:\n" + pg.log());
                assertMarker(pg);
                PostgresOnDbfsTest.assertInvariant(pg);
                assertArrayEquals(before, PostgresOnDbfsTest.counts(pg));
            }
        }
    }

    @Test
    void damagedSegmentObjectsAreReportedByNameAndNeverServed() throws Exception {
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            Path work = tmp.resolve("pg");
            try (PostgresCluster pg = startPrimary(stack, work)) {
                loadAndStop(stack, pg, work);
                assertEquals(0, stack.stopPageServerCleanly(), "everything packed into the bucket");

                // One flipped bit every 4 KiB in the first half of every segment object, where its page
                // frames are (its footer, the index the page server loads at start, is at the end).
                List<Path> segments;
                try (var files = Files.list(stack.root().resolve("bucket/segments"))) {
                    segments = files.toList();
                }
                assertFalse(segments.isEmpty());
                for (Path segment : segments) {
                    byte[] bytes = Files.readAllBytes(segment);
                    for (int at = 100; at < bytes.length / 2; at += 4096) {
                        bytes[at] ^= 1;
                    }
                    Files.write(segment, bytes);
                }

                stack.useCacheDir("cache-on-a-new-machine"); // the bucket alone, no cached copies
                stack.startPageServer();
                stack.mount();
                boolean served;
                try {
                    pg.start();
                    served = pg.queryLong("SELECT sum(id) FROM marker") > 0;
                } catch (java.io.IOException | java.sql.SQLException refused) {
                    served = false; // PostgreSQL got EIO for a damaged page: startup or the query fails
                }
                assertFalse(served, "no query answered from damaged pages");
                String log = stack.pageServer().stderr();
                assertTrue(log.contains("segment object segments/") && log.contains("corrupt"),
                        "the page server names the damaged object:\n" + log.lines().filter(l -> l.contains("corrupt"))
                                .findFirst().orElse(log));
                pg.crashStop();
            }
        }
    }

    @Test
    void afterKill9WithUnpackedWritesOnlyTheirJournalMayServeTheBucket() throws Exception {
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            Path work = tmp.resolve("pg");
            try (PostgresCluster pg = startPrimary(stack, work)) {
                loadAndStop(stack, pg, work);
                stack.killPageServer(); // every write since initdb is only in the journal

                String journal = Files.readString(stack.cacheDir().resolve("journal/IDENTITY")).strip();
                Path original = stack.cacheDir();
                stack.useCacheDir("empty-cache");
                ProcessBuilder pb = stack.pageServerCommand(List.of());
                Path stdout = tmp.resolve("refused-stdout.log");
                pb.redirectOutput(stdout.toFile());
                Process refused = pb.start();
                assertTrue(refused.waitFor(90, TimeUnit.SECONDS), "refuses instead of starting");
                String stderr = Files.readString(pb.redirectError().file().toPath());
                assertEquals(7, refused.exitValue(), stderr);
                assertFalse(Files.readString(stdout).contains("listening"), "never listens");
                assertTrue(stderr.contains(journal) && stderr.contains(original.toString())
                        && stderr.contains("packed up to journal seq"), stderr);

                stack.useCacheDir(original.getFileName().toString());
                stack.startPageServer();
                stack.mount();
                pg.start();
                assertMarker(pg);
                PostgresOnDbfsTest.assertInvariant(pg);
            }
        }
    }
}
