package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbfs.fuse.DbfsCli;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.GetWalEndRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code dbfs import}: a stopped pgbench cluster (scale 70, about 1 GB) copied onto DbFS over TCP,
 * then PostgreSQL on a read-write mount of it sees the same rows and balances, and pg_amcheck finds
 * every heap and index sound. Also what the import refuses, and why.
 */
class ImportTest {
    static final int SCALE = Integer.getInteger("dbfs.import.scale", 70);
    private static final Pattern PROGRESS_LINE = Pattern.compile(
            "import: [0-9.]+ [KMG]?i?B of [0-9.]+ [KMG]iB \\(\\d+%\\), [0-9.]+ [KMG]?i?B/s, ETA .+");
    private static final Pattern WAL_END = Pattern.compile("WAL ends at ([0-9A-F]+/[0-9A-F]+)\\)");

    @TempDir
    Path tmp;

    /** What a test reads from a cluster, to compare the copy with the source. */
    record Contents(long[] counts, long[] balances) {
        static Contents of(PostgresCluster pg) throws Exception {
            long[] counts = new long[4];
            String[] tables = {"pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history"};
            for (int i = 0; i < tables.length; i++) {
                counts[i] = pg.queryLong("SELECT count(*) FROM " + tables[i]);
            }
            return new Contents(counts, pg.balances());
        }
    }

    @Test
    void aStoppedPgbenchClusterImportedOverTcpKeepsItsRowsAndBalancesAndPassesAmcheck() throws Exception {
        long testStarted = System.nanoTime();
        Path sourceWork = PostgresCluster.workDirectory(tmp.resolve("source"));
        Path source = sourceWork.resolve("data");
        Contents before;
        try (PostgresCluster pg = PostgresCluster.initdb(source, sourceWork, List.of())) {
            pg.start();
            pg.pgbench(sourceWork, "-i", "-s", Integer.toString(SCALE), "-q");
            pg.pgbench(sourceWork, "-c", "2", "-j", "2", "-T", "10");
            before = Contents.of(pg);
            pg.stop();
        }
        assertEquals(100_000L * SCALE, before.counts()[0]);
        assertTrue(before.balances()[0] != 0, "pgbench -T 10 moved balances");
        long[] b = before.balances();
        assertTrue(b[0] == b[1] && b[0] == b[2] && b[0] == b[3], "TPC-B: accounts = branches = tellers = history deltas");

        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.startPageServer();
            String tcp = "127.0.0.1:" + stack.pageServer().port();
            long importStarted = System.nanoTime();
            Imported imported = runImport(source, tcp, tmp.resolve("logs"));
            double importSeconds = (System.nanoTime() - importStarted) / 1e9;
            assertEquals(0, imported.exitCode(), imported.stderr());
            List<String> progress = imported.stderr().lines().filter(l -> PROGRESS_LINE.matcher(l).matches()).toList();
            assertTrue(progress.size() >= 2, "plain progress lines on a pipe:\n" + imported.stderr());
            assertFalse(imported.stderr().contains("\r"), "no bar redrawn in place when stderr is not a terminal");
            assertTrue(imported.stderr().contains("import: done:"), imported.stderr());

            Imported again = runImport(source, tcp, tmp.resolve("logs"));
            assertEquals(1, again.exitCode(), again.stderr());
            assertTrue(again.stderr().contains("is not empty"), "a second import into the same root is refused:\n"
                    + again.stderr());

            // Replicas and snapshots look for the end of WAL among the newest segments: it is where the source's ends.
            Matcher walEnd = WAL_END.matcher(imported.stderr());
            assertTrue(walEnd.find(), imported.stderr());
            assertEquals(walEnd.group(1), Lsn.format(stack.pageServer().client().getWalEnd(GetWalEndRequest.getDefaultInstance())
                    .getLsn()), "the page server finds the end of the imported WAL");

            stack.mount();
            Path data = stack.mountPoint();
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(data)), "the root's mode");
            assertEquals("postgres", Files.getOwner(data).getName(), "the root's owner");
            Imported beside = runImport(source, tcp, tmp.resolve("logs"));
            assertEquals(1, beside.exitCode(), beside.stderr());
            assertTrue(beside.stderr().contains("the import may not write: the cluster's writer is"),
                    "an import beside a read-write mount is refused by the writer lease:\n" + beside.stderr());

            Path work = PostgresCluster.workDirectory(tmp.resolve("dbfs"));
            try (PostgresCluster pg = PostgresCluster.configured(data, work,
                    Files.readString(PostgresOnDbfsTest.PRIMARY_CONF))) {
                pg.start();
                Contents after = Contents.of(pg);
                assertArrayEquals(before.counts(), after.counts(), "row counts of the four pgbench tables");
                assertArrayEquals(before.balances(), after.balances(), "sums of the balances and of history's deltas");
                long amcheckStarted = System.nanoTime();
                assertEquals("", pg.amcheck(work).strip(), "pg_amcheck --heapallindexed reports nothing");
                double amcheckSeconds = (System.nanoTime() - amcheckStarted) / 1e9;
                pg.stop();
                System.out.printf("import of pgbench scale %d: %s MiB in %.1f s (%.1f MiB/s including the JVM start); its own"
                                + " summary: %s%npg_amcheck --heapallindexed --all on the mount: %.1f s; test so far: %.1f s%n",
                        SCALE, imported.mib(), importSeconds, imported.mib() / importSeconds, imported.summary(), amcheckSeconds,
                        (System.nanoTime() - testStarted) / 1e9);
            }
            assertEquals(0, stack.unmount(), "everything durable at unmount");
        }
    }

    @Test
    void refusesWhatIsNotAStoppedDataDirectoryWithoutTablespaces() throws Exception {
        Path logs = tmp.resolve("logs");
        String nowhere = "127.0.0.1:1"; // every refusal comes before the page server is asked anything

        Path notData = Files.createDirectories(tmp.resolve("not-a-data-directory"));
        Files.writeString(notData.resolve("notes.txt"), "not PostgreSQL's");
        Imported r = runImport(notData, nowhere, logs);
        assertEquals(1, r.exitCode(), r.stderr());
        assertTrue(r.stderr().contains("is not a PostgreSQL data directory: it has no global/pg_control"), r.stderr());

        Path work = PostgresCluster.workDirectory(tmp.resolve("pg"));
        Path data = work.resolve("data");
        PostgresCluster pg = PostgresCluster.initdb(data, work, List.of());
        Path location = PostgresCluster.workDirectory(tmp.resolve("tablespace"));
        pg.start();
        try {
            r = runImport(data, nowhere, logs);
            assertEquals(1, r.exitCode(), r.stderr());
            assertTrue(r.stderr().contains("PostgreSQL is running on " + data), r.stderr());
            assertTrue(r.stderr().contains("stop it with 'pg_ctl stop -D " + data + "'"), r.stderr());

            try (var c = pg.connect(); var s = c.createStatement()) {
                s.execute("CREATE TABLESPACE elsewhere LOCATION '" + location + "'");
            }
        } finally {
            pg.crashStop(); // as a power cut would: pg_control still says "in production"
        }
        r = runImport(data, nowhere, logs);
        assertEquals(1, r.exitCode(), r.stderr());
        assertTrue(r.stderr().contains("was not shut down cleanly: pg_control says \"in production\""), r.stderr());

        pg.start(); // recovers
        pg.stop();
        r = runImport(data, nowhere, logs);
        assertEquals(1, r.exitCode(), r.stderr());
        assertTrue(r.stderr().contains("has a tablespace (pg_tblspc/"), r.stderr());
        assertTrue(r.stderr().contains("-> " + location), r.stderr());
    }

    /** What {@code dbfs import} printed on stderr (a file, so its plain progress lines), and how it ended. */
    record Imported(int exitCode, String stderr) {
        double mib() {
            Matcher m = Pattern.compile("import: done: .* files, .*? ([0-9.]+) ([KMG]iB) in").matcher(stderr);
            if (!m.find()) {
                return 0;
            }
            double v = Double.parseDouble(m.group(1));
            return switch (m.group(2)) {
                case "KiB" -> v / 1024;
                case "GiB" -> v * 1024;
                default -> v;
            };
        }

        String summary() {
            return stderr.lines().filter(l -> l.startsWith("import: done:")).findFirst().orElse("(none)");
        }
    }

    /** {@code dbfs import} in a child JVM, as an operator runs it (bin/dbfs runs the same main class). */
    static Imported runImport(Path from, String pageServer, Path logDir) throws IOException, InterruptedException {
        Path stderr = logDir.resolve("import-" + System.nanoTime() + ".log");
        List<String> args = new ArrayList<>(List.of("import", "--from", from.toString(), "--pageserver", pageServer));
        ProcessBuilder pb = ChildJvm.command(DbfsCli.class, args, Map.of(), stderr);
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        if (!p.waitFor(600, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("dbfs import did not finish in 600 s; stderr:\n" + Files.readString(stderr));
        }
        return new Imported(p.exitValue(), Files.readString(stderr));
    }
}
