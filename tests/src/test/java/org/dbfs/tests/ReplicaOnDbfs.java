package org.dbfs.tests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import org.dbfs.fuse.DbfsMount;

/**
 * A hot standby on a read-only DbFS mount, set up as docs/replicas.md says: mount with an overlay
 * directory, then on the mount standby.signal and postgres-conf/replica.conf plus port,
 * primary_conninfo and restore_command appended to postgresql.conf (the writes land in the
 * overlay), then pg_ctl start.
 */
final class ReplicaOnDbfs implements AutoCloseable {
    static final Path REPLICA_CONF = Path.of("..", "postgres-conf", "replica.conf");

    final Path root;
    final Path overlay;
    final Path mountPoint;
    private DbfsMount mount;
    private MountProcess mountProcess;
    private PostgresCluster pg;

    /** @param root a fresh directory for this replica: its overlay, mount point and work files */
    ReplicaOnDbfs(Path root) throws IOException {
        this.root = root;
        this.overlay = root.resolve("overlay");
        this.mountPoint = root.resolve("mnt");
        Files.createDirectories(mountPoint);
        PostgresCluster.makeTraversableForPostgres(root);
    }

    /** Mounts read-only on {@code pageServer} (HOST:PORT or unix:PATH). */
    void mount(String pageServer) throws Exception {
        mount = DbfsMount.mountReadOnly(pageServer, overlay, mountPoint, List.of());
    }

    /** A time-travel mount: read-only as of {@code point} (an LSN or a time). @return the LSN it shows, X_end */
    long mountAt(String pageServer, org.dbfs.protocol.pageserver.v1.ResolvePointRequest point) throws Exception {
        mount = DbfsMount.mountAt(pageServer, point, overlay, mountPoint, List.of(), 300);
        return mount.atLsn();
    }

    /** Mounts read-only in a child process ({@code dbfs mount --ro}), which a test can kill or promote. */
    void mountProcess(String pageServer, Path logs, String... moreOptions) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("--ro", "--pageserver", pageServer, "--overlay-dir", overlay.toString()));
        args.addAll(List.of(moreOptions));
        mountProcess = MountProcess.start(args, mountPoint, logs);
    }

    MountProcess mountProcess() {
        return mountProcess;
    }

    /** The first start: standby.signal and the settings, then pg_ctl start. */
    PostgresCluster configureAndStart(String primaryConninfo, String restoreCommand) throws Exception {
        return configureAndStart(primaryConninfo, restoreCommand, "");
    }

    /** As {@link #configureAndStart(String, String)}, with {@code moreSettings} (lines) after the others. */
    PostgresCluster configureAndStart(String primaryConninfo, String restoreCommand, String moreSettings) throws Exception {
        String settings = "\n# replica.conf\n" + Files.readString(REPLICA_CONF)
                + "primary_conninfo = '" + primaryConninfo.replace("'", "''") + "'\n"
                + (restoreCommand == null ? "" : "restore_command = '" + restoreCommand.replace("'", "''") + "'\n")
                + moreSettings;
        pg = PostgresCluster.standby(mountPoint, root.resolve("work"), settings);
        pg.start();
        return pg;
    }

    /** A later start on the same overlay (already configured). */
    PostgresCluster start() throws Exception {
        pg = PostgresCluster.existing(mountPoint, root.resolve("work"));
        pg.start();
        return pg;
    }

    PostgresCluster pg() {
        return pg;
    }

    void stopPostgres() throws Exception {
        if (pg != null) {
            pg.close();
            pg = null;
        }
    }

    void unmount() throws Exception {
        if (mount != null) {
            mount.unmount();
            mount = null;
        }
        if (mountProcess != null) {
            mountProcess.close();
            mountProcess = null;
        }
    }

    long replayLsn() {
        try {
            return pg.queryLong("SELECT coalesce(pg_last_wal_replay_lsn() - '0/0'::pg_lsn, 0)::bigint");
        } catch (SQLException e) {
            return -1; // not accepting connections yet
        }
    }

    @Override
    public void close() throws Exception {
        try {
            stopPostgres();
        } finally {
            unmount();
        }
    }
}
