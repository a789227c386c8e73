package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.dbfs.walservice.wal.WalSegments;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code walservice restore} as PostgreSQL 15's restore_command: a base backup of a primary whose
 * WAL the service archives, started as a standby with the restore command and no primary_conninfo,
 * replays from the archive a segment the primary completed (pg_switch_wal) and the newest segment,
 * which the archive holds only in part (zero-padded), up to the primary's LSN.
 */
class RestoreCommandTest {
    @TempDir
    Path tmp;

    @Test
    void aStandbyFedOnlyByTheRestoreCommandReplaysToThePrimarysLsn() throws Exception {
        try (PrimaryWithWalService p = PrimaryWithWalService.start(tmp);
             WalServiceProcess svc = p.startService()) {
            long started = p.lsn("pg_current_wal_flush_lsn()");
            await("the service to reach the primary", 60, () -> svc.positions().getFlushedLsn() >= started);
            Path standbyHome = Files.createDirectories(tmp.resolve("standby"));
            PostgresCluster.makeTraversableForPostgres(standbyHome);
            PostgresCluster.chownToPostgres(standbyHome);
            Path data = standbyHome.resolve("data");
            p.pg.baseBackup(data, standbyHome.resolve("basebackup.log"));

            long beforeSwitch;
            try (Connection c = p.pg.connect(); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE restored (id int, payload text)");
                s.execute("INSERT INTO restored SELECT g, repeat('a', 100) FROM generate_series(1, 10000) g");
                beforeSwitch = p.lsn("pg_current_wal_insert_lsn()");
                s.execute("SELECT pg_switch_wal()");
                s.execute("INSERT INTO restored SELECT g, repeat('b', 100) FROM generate_series(10001, 20000) g");
            }
            long target = p.lsn("pg_current_wal_lsn()");
            WalSegments segments = new WalSegments(16 << 20);
            String completed = segments.fileNameFor(1, beforeSwitch);
            String newest = segments.fileNameFor(1, target - 1);
            assertNotEquals(completed, newest, "pg_switch_wal moved the primary to a later segment");
            await("the archive to reach " + fmt(target), 60, () -> svc.positions().getArchivedLsn() >= target);

            Path launcher = WalServiceForPostgres.install(tmp.resolve("walservice-command"));
            String restoreCommand = launcher + " restore --bucket " + p.bucket.toUri() + " --passphrase-file "
                    + passphraseFileForPostgres(launcher.resolveSibling("passphrase")) + " %f %p";
            readableByPostgres(p.bucket);
            try (PostgresCluster standby = PostgresCluster.standby(data, standbyHome.resolve("work"),
                    "restore_command = '" + restoreCommand.replace("'", "''") + "'\n")) {
                standby.start();
                try {
                    await("the standby to replay up to " + fmt(target), 120, () -> replayed(standby) >= target);
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "; standby log:\n" + standby.log(), e);
                }
                assertEquals(1, standby.queryLong("SELECT pg_is_in_recovery()::int"));
                assertEquals(20000, standby.queryLong("SELECT count(*) FROM restored"));
                String log = standby.log();
                assertTrue(log.contains("restored log file \"" + completed + "\" from archive"), log);
                assertTrue(log.contains("restored log file \"" + newest + "\" from archive"), log);
                assertTrue(restoreLine(log, completed).contains(": the whole segment"), log);
                assertTrue(restoreLine(log, newest).contains(": partial"), log);
                System.out.printf("standby replayed to %s from the archive (%s whole, %s partial)%n",
                        fmt(replayed(standby)), completed, newest);
            }
        }
    }

    private static long replayed(PostgresCluster standby) {
        try {
            return standby.queryLong("SELECT coalesce(pg_last_wal_replay_lsn() - '0/0'::pg_lsn, 0)::bigint");
        } catch (SQLException e) {
            return -1; // not accepting connections yet
        }
    }

    /** The last line the restore command wrote (into the server log) for a segment it restored. */
    private static String restoreLine(String log, String walFileName) {
        return log.lines().filter(l -> l.startsWith("walservice restore: restored " + walFileName + " ")).reduce((a, b) -> b).orElse("");
    }

    static Path passphraseFileForPostgres(Path file) throws Exception {
        Files.writeString(file, WalServiceProcess.PASSPHRASE + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        PostgresCluster.chownToPostgres(file);
        return file;
    }

    /**
     * The restore command runs as postgres and only reads: the bucket stays root's, postgres may
     * only enter and read it (as the objects, 0644, already allow).
     */
    static void readableByPostgres(Path bucket) throws Exception {
        PostgresCluster.makeTraversableForPostgres(bucket);
    }
}
