package org.dbfs.fuse;

import org.dbfs.bucket.cli.HostPort;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import org.dbfs.protocol.pageserver.v1.ResolvePointRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code dbfs mount --rw --pageserver HOST:PORT MOUNTPOINT}, or {@code --ro --overlay-dir DIR} for a
 * replica: runs in the foreground until unmounted.
 */
@Command(name = "mount", mixinStandardHelpOptions = true,
        description = "Mount a DbFS file system (foreground; stop with 'dbfs umount MOUNTPOINT' or SIGTERM).")
final class MountCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Mode mode;

    static final class Mode {
        @Option(names = "--rw", required = true, description = "Mount read-write: the primary's data directory.")
        boolean readWrite;

        @Option(names = "--ro", required = true, description = "Mount read-only for a hot standby: files from a copy in "
                + "--overlay-dir, relation pages from the page server at the standby's replay LSN (docs/replicas.md).")
        boolean readOnly;
    }

    @Option(names = "--overlay-dir", paramLabel = "DIR",
            description = "With --ro: the replica's private files (the standby's own writes). Created and filled with a "
                    + "copy of the data directory on first use; later mounts go on from it.")
    Path overlayDir;

    @ArgGroup(exclusive = true)
    Point point;

    static final class Point {
        @Option(names = "--at-lsn", paramLabel = "X/Y", description = "With --ro: time travel. Show the cluster as of this LSN"
                + " (the state after the last WAL record ending at or before it); PostgreSQL started on the mount opens as a"
                + " hot standby paused there (docs/time-travel.md).")
        String lsn;

        @Option(names = "--at-time", paramLabel = "TIMESTAMPTZ", description = "With --ro: time travel to a time, e.g."
                + " '2026-12-02 10:00:00+00': the state before the first commit after it, as recovery_target_time.")
        String time;
    }

    @Option(names = "--branch", paramLabel = "NAME", description = "With --rw: the page server must serve this branch"
            + " (pageserver --branch NAME; docs/branches.md). A check that the mount is where it is meant to be.")
    String branch;

    @Option(names = "--pageserver", required = true, paramLabel = "HOST:PORT|unix:PATH|grpc:HOST:PORT",
            description = "The page server: its --listen address (its own framing over TCP, one connection per concurrent"
                    + " call), unix:PATH for its --listen-socket on this machine, or grpc:HOST:PORT for gRPC on the same"
                    + " --listen address (slower: several thread hand-offs per call).")
    String pageServer;

    @Option(names = "--reader-lease-ttl", paramLabel = "SECONDS", defaultValue = "" + ReplicaLease.DEFAULT_TTL_SECONDS,
            description = "With --ro: how long the page server keeps the history this replica reads after its last renewal "
                    + "(renewed every tenth of it); a replica cut off for longer may find it collected (default ${DEFAULT-VALUE}).")
    int readerLeaseTtlSeconds;

    @Option(names = {"-o", "--fuse-option"}, paramLabel = "OPTION", description = "Extra libfuse mount option (repeatable).")
    List<String> fuseOptions = new ArrayList<>();

    @Option(names = "--metrics-listen", paramLabel = "HOST:PORT", description = "Serve Prometheus metrics at"
            + " http://HOST:PORT/metrics: FUSE requests by opcode with their latency, fsync latency, a replica's B"
            + " (docs/operations.md).")
    String metricsListen;

    @Parameters(index = "0", paramLabel = "MOUNTPOINT")
    Path mountPoint;

    @Override
    public Integer call() throws Exception {
        if (mode.readOnly && overlayDir == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--ro needs --overlay-dir DIR");
        }
        if (mode.readWrite && overlayDir != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--overlay-dir is for --ro mounts");
        }
        if (readerLeaseTtlSeconds < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--reader-lease-ttl must be at least 1 second");
        }
        if (branch != null && !mode.readWrite) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--branch is for --rw mounts");
        }
        if (point != null && !mode.readOnly) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--at-lsn and --at-time are for --ro mounts");
        }
        HostPort metricsAddress = metricsListen == null ? null : HostPort.option(spec.commandLine(), "--metrics-listen", metricsListen);
        DbfsMount mount;
        if (point != null) {
            ResolvePointRequest at;
            try {
                at = point.lsn != null ? PointInTime.lsn(point.lsn) : PointInTime.time(point.time);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            mount = DbfsMount.mountAt(pageServer, at, overlayDir, mountPoint, fuseOptions, readerLeaseTtlSeconds);
        } else {
            mount = mode.readOnly ? DbfsMount.mountReadOnly(pageServer, overlayDir, mountPoint, fuseOptions, readerLeaseTtlSeconds)
                    : DbfsMount.mountReadWrite(pageServer, mountPoint, fuseOptions, branch);
        }
        String metricsAt = "";
        if (metricsAddress != null) {
            try {
                metricsAt = "; metrics on http://" + metricsAddress.host() + ":"
                        + mount.serveMetrics(metricsAddress.host(), metricsAddress.port()) + "/metrics";
            } catch (java.io.IOException e) {
                mount.unmount();
                throw e;
            }
        }
        Thread hook = new Thread(mount::unmount, "dbfs-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        System.err.println("dbfs: mounted " + mount.mountPoint() + (mode.readOnly ? " read-only (overlay " + overlayDir + ")"
                : " read-write") + (point != null ? " as of " + mount.describePoint() : "") + " on page server " + pageServer + metricsAt);
        mount.awaitUnmounted();
        int finalSync = mount.unmount();
        return finalSync == 0 ? 0 : 1;
    }
}
