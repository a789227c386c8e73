package org.dbfs.fuse;

import io.grpc.StatusRuntimeException;
import org.cryptomator.jfuse.api.Fuse;
import org.cryptomator.jfuse.api.FuseBuilder;
import org.cryptomator.jfuse.api.FuseMountFailedException;
import org.dbfs.protocol.pageserver.v1.DirEntry;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.ReadDirReply;
import org.dbfs.protocol.pageserver.v1.ReadLinkReply;
import org.dbfs.protocol.pageserver.v1.ResolvePointReply;
import org.dbfs.protocol.pageserver.v1.ResolvePointRequest;
import org.dbfs.protocol.pageserver.v1.ServerInfoReply;
import org.dbfs.metrics.MetricsEndpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.function.IntSupplier;
import org.dbfs.pgformat.wal.Lsn;

/**
 * The life of one mount: connect to the page server, mount with jfuse, wait until the file system
 * is unmounted (by {@code dbfs umount}, fusermount3 -u, or {@link #unmount()}), then make
 * everything durable and let go. Read-write ({@link #mountReadWrite}) or read-only on a private
 * overlay ({@link #mountReadOnly}, docs/replicas.md).
 */
public final class DbfsMount implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DbfsMount.class);

    /**
     * The kernel may cache attributes, names and missing names this long, and keeps file pages
     * cached across opens (kernel_cache): on the read-write mount every change passes through this
     * kernel, so its caches cannot go stale (ARCHITECTURE.md: the page cache is safe, single writer).
     */
    static final String CACHE_TIMEOUT_SECONDS = "60";
    private static final long UNMOUNT_POLL_MILLIS = 200;
    /** How long a read-only mount's page read may wait for the WAL service to index up to B. */
    private static final int READ_WAIT_MS = 30_000;
    private static final long REPORT_SECONDS = 60;

    private final Path mountPoint;
    private final PageServerClient client;
    private final IntSupplier finalSync;
    private final AutoCloseable alsoClose;
    private final Fuse fuse;
    private final AttrInvalidation invalidation;
    private boolean closed;
    private int finalSyncResult;
    private ResolvePointReply point; // a time-travel mount's point; null otherwise
    private final MountMetrics metrics;
    private MetricsEndpoint metricsEndpoint; // guarded by this

    private DbfsMount(Path mountPoint, PageServerClient client, IntSupplier finalSync, Fuse fuse, AttrInvalidation invalidation,
                      AutoCloseable alsoClose, MountMetrics metrics) {
        this.metrics = metrics;
        this.mountPoint = mountPoint;
        this.client = client;
        this.finalSync = finalSync;
        this.fuse = fuse;
        this.invalidation = invalidation;
        this.alsoClose = alsoClose;
    }

    /**
     * Mounts read-only and returns once the file system answers: the first mount on {@code overlayDir}
     * copies the data directory's files there ({@link DataDirectoryCopy}), later ones go on with that copy.
     */
    public static DbfsMount mountReadOnly(String pageServer, Path overlayDir, Path mountPoint, List<String> extraFuseOptions)
            throws IOException, FuseMountFailedException {
        return mountReadOnly(pageServer, overlayDir, mountPoint, extraFuseOptions, ReplicaLease.DEFAULT_TTL_SECONDS);
    }

    /** As above, with the reader lease's time to live ({@code dbfs mount --reader-lease-ttl}). */
    public static DbfsMount mountReadOnly(String pageServer, Path overlayDir, Path mountPoint, List<String> extraFuseOptions,
                                          int readerLeaseTtlSeconds) throws IOException, FuseMountFailedException {
        return mountReadOnly(pageServer, overlayDir, mountPoint, extraFuseOptions, readerLeaseTtlSeconds, null);
    }

    /**
     * A time-travel mount ({@code dbfs mount --ro --at-lsn|--at-time}): read-only, as of a point in
     * the past that never moves (docs/time-travel.md); the first mount on {@code overlayDir} unpacks
     * the page server's snapshot from before that point there.
     */
    public static DbfsMount mountAt(String pageServer, ResolvePointRequest point, Path overlayDir, Path mountPoint,
                                    List<String> extraFuseOptions, int readerLeaseTtlSeconds)
            throws IOException, FuseMountFailedException {
        return mountReadOnly(pageServer, overlayDir, mountPoint, extraFuseOptions, readerLeaseTtlSeconds, point);
    }

    private static DbfsMount mountReadOnly(String pageServer, Path overlayDir, Path mountPoint, List<String> extraFuseOptions,
                                           int readerLeaseTtlSeconds, ResolvePointRequest point)
            throws IOException, FuseMountFailedException {
        Path dir = checkMountPoint(mountPoint);
        PageServerClient client = new PageServerClient(pageServer, true);
        OverlayReport report = null;
        ReplicaLease lease = null;
        try {
            ServerInfoReply info = client.serverInfo();
            if (info.getWalService().isEmpty()) {
                throw new IOException("page server " + pageServer + " runs without --walservice: a read-only mount reads "
                        + "relation pages as of its replay LSN (GetPage@LSN), which needs the WAL service. Start the page "
                        + "server with --walservice HOST:PORT");
            }
            ReplicaOverlay overlay = new ReplicaOverlay(overlayDir);
            ReplicaControl.checkNotPromoted(overlayDir);
            String holder = hostName() + ":" + overlayDir.toAbsolutePath();
            ReplicaOverlay.Snapshot snapshot;
            ReplicaReadPoint readPoint;
            int timeline = 0;
            ResolvePointReply resolved = null;
            if (point == null) {
                snapshot = ReplicaMountSetup.snapshot(client, pageServer, overlay);
                if (snapshot.isTimeTravel()) {
                    throw new IOException("the overlay " + overlayDir + " is a time-travel mount's (as of "
                            + Lsn.format(snapshot.atLsn()) + "): mount it with --at-lsn " + Lsn.format(snapshot.atLsn())
                            + ", or use a fresh --overlay-dir for a replica");
                }
                readPoint = new ReplicaReadPoint(snapshot.lsn(), overlay.data().resolve("global/pg_control"));
                lease = ReplicaLease.take(client, snapshot.readerId(), holder, readPoint, readerLeaseTtlSeconds);
            } else {
                TimeTravelSetup.Prepared prepared = TimeTravelSetup.prepare(client, pageServer, overlay, point, holder,
                        readerLeaseTtlSeconds);
                snapshot = prepared.snapshot();
                readPoint = prepared.readPoint();
                lease = prepared.lease();
                timeline = prepared.point().getTimeline();
                resolved = prepared.point();
            }
            ReplicaPages pages = new ReplicaPages(client, readPoint, READ_WAIT_MS);

            Path libfuse = LibFuse.path();
            FuseBuilder builder = Fuse.builder();
            builder.setLibraryPath(libfuse.toString());
            FuseCallerContext callers = new FuseCallerContext(libfuse);
            AttrInvalidation invalidation = new AttrInvalidation(libfuse, callers, dir);
            ReplicaFileSystem fs = new ReplicaFileSystem(builder.errno(), overlay.data(), pages, readPoint, callers);
            SwitchableFileSystem switchable = point == null
                    ? new SwitchableFileSystem(fs, () -> client.serverInfo().getTimeline())
                    : SwitchableFileSystem.timeTravel(fs, timeline, Lsn.format(readPoint.lsn()));
            MountMetrics metrics = new MountMetrics(() -> !switchable.switched());
            ReplicaLease claim = lease;
            metrics.replica(readPoint::lsn, () -> claim.state().text());
            Fuse fuse = builder.build(new TimedOperations(switchable, metrics));
            NullPathGuard.install(fuse);
            UnboundCallbacks.install(fuse, switchable);
            List<String> options = fuseOptions(extraFuseOptions);
            log.info("mounting {} read-only{} (page server {}, overlay {}, S = {}, B = {}) with {}", dir,
                    point == null ? "" : ", as of " + Lsn.format(readPoint.lsn()), pageServer, overlayDir,
                    Lsn.format(snapshot.lsn()), Lsn.format(readPoint.lsn()), options);
            fuse.mount("dbfs", dir, options.toArray(String[]::new));
            report = new OverlayReport(overlay.data(), fs, pages, readPoint, REPORT_SECONDS);
            OverlayReport reporting = report;
            ReplicaLease held = lease;
            ReplicaControl[] control = new ReplicaControl[1];
            Runnable stopReplicaWork = () -> {
                reporting.close();
                held.close();
            };
            control[0] = new ReplicaControl(switchable, armed -> new ReplicaPromotion(pageServer, fs, builder.errno(), callers,
                    invalidation, dir, armed, () -> {
                        stopReplicaWork.run();
                        control[0].markPromoted(control[0].promotion().done());
                    }), readPoint, held::state, snapshot.lsn(), WriterLease.holder(dir), overlayDir);
            MountControl socket = startControl(dir, control[0]);
            DbfsMount mount = new DbfsMount(dir, client, switchable::syncAll, fuse, invalidation, () -> {
                if (socket != null) {
                    socket.close();
                }
                ReplicaPromotion p = control[0].promotion();
                if (p != null && switchable.switched()) {
                    p.close();
                } else {
                    stopReplicaWork.run();
                }
            }, metrics);
            mount.point = resolved;
            return mount;
        } catch (StatusRuntimeException e) {
            closeQuietly(client);
            throw new IOException("page server " + pageServer + " cannot be reached: " + e.getStatus().getCode()
                    + (e.getStatus().getDescription() == null ? "" : " (" + e.getStatus().getDescription() + ")"), e);
        } catch (IOException | FuseMountFailedException | RuntimeException | Error e) {
            if (report != null) {
                report.close();
            }
            if (lease != null) {
                lease.close();
            }
            closeQuietly(client);
            throw e;
        }
    }

    /** The control socket fencectl promote needs; a mount without one still serves its standby. */
    private static MountControl startControl(Path dir, ReplicaControl control) {
        try {
            return MountControl.start(dir, control::handle);
        } catch (IOException e) {
            log.warn("no control socket for {} ({}): fencectl promote cannot reach this mount. Run the mount as root, or"
                    + " set DBFS_RUN_DIR to a directory it may write", dir, e.toString());
            return null;
        }
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    private static Path checkMountPoint(Path mountPoint) throws IOException {
        Path dir = mountPoint.toRealPath();
        if (!Files.isDirectory(dir)) {
            throw new IOException("mount point is not a directory: " + dir);
        }
        if (MountTable.isMountPoint(dir)) {
            throw new IOException("already mounted: " + dir);
        }
        return dir;
    }

    /** Mounts read-write and returns once the file system answers. */
    public static DbfsMount mountReadWrite(String pageServer, Path mountPoint, List<String> extraFuseOptions)
            throws IOException, FuseMountFailedException {
        return mountReadWrite(pageServer, mountPoint, extraFuseOptions, null);
    }

    /**
     * As above; with {@code branch}, only if the page server serves that branch (docs/branches.md):
     * a branch's primary on its parent's page server would write into the parent.
     */
    public static DbfsMount mountReadWrite(String pageServer, Path mountPoint, List<String> extraFuseOptions, String branch)
            throws IOException, FuseMountFailedException {
        Path dir = checkMountPoint(mountPoint);
        PageServerClient client = new PageServerClient(pageServer);
        WriterLease lease = null;
        try {
            ServerInfoReply info = client.serverInfo();
            if (branch != null && !branch.equals(info.getBranch())) {
                throw new IOException("page server " + pageServer + (info.getBranch().isEmpty() ? " serves its own cluster,"
                        : " serves branch " + info.getBranch() + ",") + " not branch " + branch + ": start the branch's page"
                        + " server (pageserver --parent-pageserver HOST:PORT --branch " + branch + ", or scripts/branch start)"
                        + " and mount that one");
            }
            log.info("page server {}: incarnation {}, bucket {}", pageServer, info.getIncarnation(), info.getBucket());
            lease = WriterLease.acquire(client, dir);
            TablespaceDirectory tablespaces = new TablespaceDirectory(dir.toString());
            loadTablespaces(client, tablespaces);

            Path libfuse = LibFuse.path();
            FuseBuilder builder = Fuse.builder();
            builder.setLibraryPath(libfuse.toString());
            FuseCallerContext callers = new FuseCallerContext(libfuse);
            AttrInvalidation invalidation = new AttrInvalidation(libfuse, callers, dir);
            DbfsFileSystem fs = new DbfsFileSystem(builder.errno(), client, callers, tablespaces, invalidation);
            MountMetrics metrics = new MountMetrics(() -> false);
            WriterLease writer = lease;
            metrics.writer(client::epoch, writer::renewedAtMs);
            Fuse fuse = builder.build(new TimedOperations(fs, metrics));
            NullPathGuard.install(fuse);
            UnboundCallbacks.install(fuse, fs);
            List<String> options = fuseOptions(extraFuseOptions);
            log.info("mounting {} (page server {}) with {}", dir, pageServer, options);
            fuse.mount("dbfs", dir, options.toArray(String[]::new));
            return new DbfsMount(dir, client, fs::syncAll, fuse, invalidation, lease, metrics);
        } catch (StatusRuntimeException e) {
            if (lease != null) {
                lease.close();
            }
            closeQuietly(client);
            throw new IOException("page server " + pageServer + " cannot be reached: " + e.getStatus().getCode()
                    + (e.getStatus().getDescription() == null ? "" : " (" + e.getStatus().getDescription() + ")"), e);
        } catch (IOException | FuseMountFailedException | RuntimeException | Error e) {
            if (lease != null) {
                lease.close();
            }
            closeQuietly(client);
            throw e;
        }
    }

    static List<String> fuseOptions(List<String> extra) {
        List<String> o = new ArrayList<>();
        o.add("-o");
        o.add("fsname=dbfs,subtype=dbfs");
        // PostgreSQL runs as its own user, so others must reach the mount; the kernel then enforces
        // modes and owners, which is what PostgreSQL expects of its data directory.
        o.add("-o");
        o.add(isRoot() ? "allow_other,default_permissions" : "default_permissions");
        o.add("-o");
        o.add("kernel_cache,entry_timeout=" + CACHE_TIMEOUT_SECONDS + ",attr_timeout=" + CACHE_TIMEOUT_SECONDS
                + ",negative_timeout=" + CACHE_TIMEOUT_SECONDS);
        // PostgreSQL runs many backends at once; the default of 10 worker threads would queue them.
        o.add("-o");
        o.add("max_threads=64");
        for (String option : extra) {
            o.add("-o");
            o.add(option);
        }
        return o;
    }

    private static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static void loadTablespaces(PageServerClient client, TablespaceDirectory tablespaces) {
        ReadDirReply dir = client.readDir(TablespaceDirectory.PG_TBLSPC);
        if (dir.getErrno() != 0) {
            return; // not a data directory (yet)
        }
        for (DirEntry entry : dir.getEntriesList()) {
            if (entry.getAttr().getType() == NodeType.SYMLINK) {
                String link = TablespaceDirectory.PG_TBLSPC + "/" + entry.getName();
                ReadLinkReply target = client.readLink(link);
                if (target.getErrno() == 0) {
                    tablespaces.symlinkCreated(link, target.getTarget());
                }
            }
        }
    }

    public Path mountPoint() {
        return mountPoint;
    }

    /** A time-travel mount's X_end, the LSN it shows the cluster at (0 for other mounts). */
    public long atLsn() {
        return point == null ? 0 : point.getLsn();
    }

    /** A time-travel mount's point for people: X_end, its timeline, the last commit before it, the snapshot. */
    public String describePoint() {
        if (point == null) {
            return "";
        }
        return Lsn.format(point.getLsn()) + " (timeline " + point.getTimeline() + (point.getCommitTimeUs() == 0 ? ""
                : ", last commit at " + java.time.Instant.ofEpochSecond(0, point.getCommitTimeUs() * 1000)) + ", snapshot "
                + point.getSnapshot().getName() + ")";
    }

    public boolean isMounted() {
        return MountTable.isMountPoint(mountPoint);
    }

    /** Blocks until the file system is no longer mounted. */
    public void awaitUnmounted() throws InterruptedException {
        while (isMounted()) {
            Thread.sleep(UNMOUNT_POLL_MILLIS);
        }
    }

    /** Makes everything acknowledged so far durable. @return 0 or -EIO */
    public int sync() {
        return finalSync.getAsInt();
    }

    /**
     * Unmounts if still mounted, stops the FUSE loop, makes all writes durable and disconnects.
     * Idempotent. @return 0 if the final sync succeeded, else -EIO (writes may be lost)
     */
    /** {@code --metrics-listen}: serves this mount's metrics at /metrics. @return the port (0 asks for a free one) */
    public synchronized int serveMetrics(String host, int port) throws IOException {
        if (metricsEndpoint != null) {
            throw new IllegalStateException("metrics are already served on port " + metricsEndpoint.port());
        }
        metricsEndpoint = MetricsEndpoint.start(host, port, metrics.registry());
        return metricsEndpoint.port();
    }

    public synchronized int unmount() {
        if (metricsEndpoint != null) {
            metricsEndpoint.close();
            metricsEndpoint = null;
        }
        if (closed) {
            return finalSyncResult;
        }
        closed = true;
        invalidation.close(); // before jfuse frees libfuse's handle, which a notification would use
        try {
            fuse.close();
        } catch (TimeoutException e) {
            log.warn("FUSE loop of {} did not stop in time (files still open?)", mountPoint);
        }
        finalSyncResult = sync();
        if (finalSyncResult != 0) {
            log.error("final sync of {} failed: writes acknowledged to PostgreSQL may not be durable", mountPoint);
        } else {
            log.info("unmounted {}; all writes durable", mountPoint);
        }
        try {
            alsoClose.close();
        } catch (Exception e) {
            log.warn("closing {}: {}", mountPoint, e.toString());
        }
        closeQuietly(client);
        return finalSyncResult;
    }

    @Override
    public void close() {
        unmount();
    }

    private static void closeQuietly(PageServerClient client) {
        try {
            client.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
