package org.dbfs.fuse;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.dbfs.pgformat.ControlFile;
import org.dbfs.pgformat.ControlFileException;

/**
 * The data directory {@code dbfs import} copies from, checked before anything is written: a
 * PostgreSQL 15 data directory (its global/pg_control parses), stopped cleanly (no live postmaster,
 * and pg_control says so), with no tablespaces. A cluster that is running, or that crashed and was
 * not recovered, would be copied mid-change: its files would not agree with each other or with its
 * WAL, and nothing would replay the difference.
 */
final class SourceDataDirectory {
    static final String CONTROL_FILE = "global/pg_control";

    /** A data directory that passed the checks, with its pg_control as read. */
    record Checked(Path dir, ControlFile control) {}

    private SourceDataDirectory() {}

    /** @throws IOException saying what is wrong with {@code dir} and what to do */
    static Checked check(Path dir) throws IOException {
        Path d = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(d)) {
            throw new IOException(d + " is not a directory: --from wants a PostgreSQL data directory (the one pg_ctl -D names)");
        }
        Path controlPath = d.resolve(CONTROL_FILE);
        if (!Files.isRegularFile(controlPath)) {
            throw new IOException(d + " is not a PostgreSQL data directory: it has no " + CONTROL_FILE
                    + ". --from wants the directory initdb made (the one pg_ctl -D names)");
        }
        checkNoLivePostmaster(d);
        ControlFile control;
        try {
            control = ControlFile.parse(Files.readAllBytes(controlPath));
        } catch (ControlFileException e) {
            throw new IOException(controlPath + " cannot be used: " + e.getMessage() + " (dbfs import reads PostgreSQL 15"
                    + " data directories)", e);
        }
        if (control.state() != ControlFile.DB_SHUTDOWNED && control.state() != ControlFile.DB_SHUTDOWNED_IN_RECOVERY) {
            throw new IOException("the cluster in " + d + " was not shut down cleanly: pg_control says \""
                    + ControlFile.dbStateName(control.state()) + "\". Stop it with 'pg_ctl stop -D " + d + "' (after a crash:"
                    + " start it so that it recovers, then stop it) and import again");
        }
        checkNoTablespaces(d);
        return new Checked(d, control);
    }

    /**
     * postmaster.pid names a live process: PostgreSQL runs (pg_control alone cannot tell, a standby
     * that runs reads "in archive recovery" and one that just started may not have written it yet).
     * A stale file, left by a crash, is harmless here: the state in pg_control decides then.
     */
    private static void checkNoLivePostmaster(Path d) throws IOException {
        Path pidFile = d.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        List<String> lines = Files.readAllLines(pidFile);
        long pid;
        try {
            pid = Long.parseLong(lines.isEmpty() ? "" : lines.getFirst().strip());
        } catch (NumberFormatException e) {
            throw new IOException(pidFile + " does not name a process: PostgreSQL may be starting or stopping. Stop it"
                    + " with 'pg_ctl stop -D " + d + "'; if no PostgreSQL runs on " + d + ", remove " + pidFile);
        }
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            throw new IOException("PostgreSQL is running on " + d + " (postmaster.pid names process " + pid
                    + ", which is alive): stop it with 'pg_ctl stop -D " + d + "', then import. A running cluster's files"
                    + " change while they are copied");
        }
    }

    /**
     * A tablespace lives outside the data directory (pg_tblspc/OID is a symlink to it): copying the
     * link would leave the tables behind, and following it would put them where the mount does not
     * know them as a tablespace.
     */
    private static void checkNoTablespaces(Path d) throws IOException {
        Path tblspc = d.resolve("pg_tblspc");
        if (!Files.isDirectory(tblspc)) {
            return;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(tblspc)) {
            for (Path e : entries) {
                String target = Files.isSymbolicLink(e) ? " -> " + Files.readSymbolicLink(e) : "";
                throw new IOException("the cluster in " + d + " has a tablespace (pg_tblspc/" + e.getFileName() + target
                        + "); dbfs import copies only the data directory, without tablespaces. Move its tables and indexes to"
                        + " pg_default (ALTER TABLE ... SET TABLESPACE pg_default; ALTER DATABASE ... SET TABLESPACE"
                        + " pg_default), DROP TABLESPACE it, stop the cluster and import again");
            }
        }
    }
}
