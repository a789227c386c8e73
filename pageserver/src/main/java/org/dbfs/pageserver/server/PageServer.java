package org.dbfs.pageserver.server;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import org.dbfs.protocol.framed.FramedServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.dbfs.bucket.crypto.BucketKeys;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.dbfs.fencing.ClusterLeaseStore;
import org.dbfs.pageserver.branch.BranchSeed;
import org.dbfs.pageserver.branch.ParentPages;
import org.dbfs.pageserver.datadir.DataDirSnapshots;
import org.dbfs.pageserver.datadir.PointResolver;
import org.dbfs.pageserver.getpage.Materialized;
import org.dbfs.pageserver.getpage.PageMaterializer;
import org.dbfs.pageserver.getpage.RemoteWal;
import org.dbfs.pageserver.status.ClusterStatusReport;
import org.dbfs.pageserver.status.PageServerMetrics;
import org.dbfs.pageserver.status.StatusServer;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.metrics.GrpcRequestTimer;
import org.dbfs.metrics.MetricsEndpoint;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running page server: the bucket, its page store and the gRPC endpoint. Start order matters for
 * "bad input loses nothing": the bucket must be reachable and the passphrase must open its key
 * check before the cache directory (journal) is touched.
 */
public final class PageServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PageServer.class);
    /** A read-write mount renews the cluster lease every third of this; past it, status calls the holder gone. */
    static final Duration WRITER_LEASE_TTL = Duration.ofSeconds(30);
    /** How long a branched timeline's first read of a page may wait for the WAL service to index up to the branch. */
    private static final long BRANCH_READ_WAIT_MS = 30_000;

    private final ObjectStore store;
    private final PageStore pageStore;
    private final Server server;
    private final FramedServer tcp;
    private final ExecutorService blocking;
    private final RemoteWal wal;
    private final FramedServer localSocket;
    private final DataDirSnapshots snapshots;
    private final ParentPages parent;
    private final ClusterStatusReport status;
    private final PageServerMetrics metrics;
    private final List<AutoCloseable> endpoints = new CopyOnWriteArrayList<>();

    private PageServer(ObjectStore store, PageStore pageStore, Server server, FramedServer tcp, ExecutorService blocking,
                       RemoteWal wal, FramedServer localSocket, DataDirSnapshots snapshots, ParentPages parent,
                       ClusterStatusReport status, PageServerMetrics metrics) {
        this.status = status;
        this.metrics = metrics;
        this.tcp = tcp;
        this.localSocket = localSocket;
        this.snapshots = snapshots;
        this.parent = parent;
        this.store = store;
        this.pageStore = pageStore;
        this.server = server;
        this.blocking = blocking;
        this.wal = wal;
    }

    public static PageServer start(PageServerConfig config) throws IOException {
        ObjectStore store = ObjectStores.open(config.bucketUrl(), config.s3Endpoint());
        PageStore pageStore = null;
        RemoteWal wal = null;
        DataDirSnapshots snapshots = null;
        ParentPages parent = null;
        try {
            store.checkReachable();
            FrameCodec codec = BucketKeys.openOrCreate(store, config.passphrase());
            pageStore = PageStore.open(store, codec, config.storeOptions());
            ExecutorService blocking = Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "pageserver-io");
                t.setDaemon(true);
                return t;
            });
            PageMaterializer materializer = null;
            PointResolver resolver = null;
            PageServerConfig.GetPageOptions gp = config.getPage();
            if (gp != null) {
                wal = new RemoteWal(gp.walService(), gp.cachedWalPages());
                materializer = new PageMaterializer(pageStore::readPage, wal, gp.hintBitsLogged(), gp.cachedPages());
                PageMaterializer m = materializer;
                pageStore.setCollectionBound(wal::indexedLsn);
                pageStore.setHistoricReader((rel, block, lsn) -> {
                    Materialized page = m.materialize(rel, block, lsn, BRANCH_READ_WAIT_MS);
                    return page.page() == null ? null : new PageStore.StoredBlock(page.pageLsn(), page.page());
                });
                resolver = new PointResolver(pageStore, wal);
                RemoteWal w = wal;
                // restore_command hands PostgreSQL whole segments, and it checks each one's first page.
                snapshots = new DataDirSnapshots(pageStore, gp.snapshotCheck(),
                        redo -> w.hasWalAt(redo - Long.remainderUnsigned(redo, w.segmentSize())));
            }
            if (config.branch() != null) {
                // Every page the branch has not written is its parent's as of the branch point.
                parent = new ParentPages(config.branch().parentPageServer(), config.branch().name());
                pageStore.setHistoricReader(parent);
                BranchSeed.seedIfEmpty(pageStore, parent, config.branch().name());
            }
            ClusterLeaseStore leases = new ClusterLeaseStore(store, codec, Clock.systemUTC(), WRITER_LEASE_TTL);
            var cluster = leases.read();
            if (cluster.isPresent()) {
                pageStore.raiseEpoch(cluster.get().lease().epoch());
                log.info("cluster writer lease: {}", cluster.get().lease().summary());
            }
            ReadOnlyConnections readOnly = new ReadOnlyConnections();
            String walService = gp == null ? "" : gp.walService();
            String branchName = config.branch() == null ? "" : config.branch().name();
            ClusterStatusReport status = new ClusterStatusReport(pageStore, leases, wal, branchName);
            PageServerMetrics metrics = new PageServerMetrics(pageStore, materializer, status::current);
            // gRPC listens on loopback only: its clients come in through the public port (FramedServer).
            Server server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                    .addService(ServerInterceptors.intercept(
                            new PageServerService(pageStore, blocking, materializer, readOnly, walService, leases, resolver)
                                    .servingBranch(branchName).reportingStatus(status),
                            readOnly, new WriterEpochHeader(), new GrpcRequestTimer(metrics.requests())))
                    .directExecutor() // see PageServerService: handlers never block the event loop
                    .maxInboundMessageSize(64 << 20)
                    .build()
                    .start();
            // Framed calls run on the connection's own thread: no hand-off for blocking reads either.
            PageServerService inline = PageServerService.onCallerThread(pageStore, materializer, readOnly, walService, leases,
                    resolver).servingBranch(branchName).reportingStatus(status);
            MountSessions sessions = new MountSessions(inline, readOnly, metrics);
            FramedServer tcp;
            InetSocketAddress publicAddress = new InetSocketAddress(config.listenHost(), config.port());
            try {
                tcp = FramedServer.onTcp("pageserver", publicAddress, sessions::newSession,
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getPort()));
            } catch (IOException e) {
                server.shutdownNow();
                throw new IOException("cannot listen on " + config.listenHost() + ":" + config.port() + ": " + e.getMessage(), e);
            }
            FramedServer local = null;
            if (config.localSocket() != null) {
                try {
                    local = FramedServer.onUnixSocket("pageserver", config.localSocket(), sessions::newSession);
                } catch (IOException e) {
                    tcp.close();
                    server.shutdownNow();
                    throw new IOException("cannot listen on " + config.localSocket() + ": " + e.getMessage(), e);
                }
            }
            return new PageServer(store, pageStore, server, tcp, blocking, wal, local, snapshots, parent, status, metrics);
        } catch (IOException | RuntimeException e) {
            if (parent != null) {
                parent.close();
            }
            if (snapshots != null) {
                snapshots.close();
            }
            if (wal != null) {
                wal.close();
            }
            if (pageStore != null) {
                pageStore.close();
            }
            store.close();
            throw e;
        }
    }

    /** The public TCP port: the framed API for mounts, and gRPC. */
    public int port() {
        try {
            return tcp.port();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** {@code --metrics-listen}: Prometheus's /metrics. @return the port (0 asks for a free one) */
    public int serveMetrics(String host, int port) throws IOException {
        MetricsEndpoint endpoint = MetricsEndpoint.start(host, port, metrics.registry());
        endpoints.add(endpoint);
        return endpoint.port();
    }

    /** {@code --http-listen}: the status page, its data and /metrics. @return the port */
    public int serveStatusPage(String host, int port, Duration sampleEvery) throws IOException {
        StatusServer page = StatusServer.start(host, port, metrics, pageStore, status::current, sampleEvery);
        endpoints.add(page);
        return page.port();
    }

    public PageStore pageStore() {
        return pageStore;
    }

    /** The data-directory snapshots this server takes (null without a WAL service). */
    public DataDirSnapshots snapshots() {
        return snapshots;
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    /**
     * The clean stop: stops serving, packs every acknowledged write into the bucket, marks it
     * complete and releases the writer lease (see {@link PageStore#drain}), then releases the cache
     * directory. Throws if the bucket could not be made complete; the journal then keeps the writes.
     */
    @Override
    public void close() throws IOException {
        for (AutoCloseable endpoint : endpoints) {
            try {
                endpoint.close();
            } catch (Exception e) {
                log.warn("closing {}: {}", endpoint, e.toString());
            }
        }
        tcp.close();
        if (localSocket != null) {
            localSocket.close();
        }
        server.shutdown();
        try {
            if (!server.awaitTermination(10, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.shutdownNow();
        }
        blocking.shutdown();
        if (snapshots != null) {
            snapshots.close();
        }
        if (wal != null) {
            wal.close();
        }
        if (parent != null) {
            parent.close();
        }
        try {
            PageStore.Packed last = pageStore.drain();
            log.info("clean stop: packed {} versions (journal seq {}..{}) into {}; bucket {} is complete at journal seq {}"
                    + " and its writer lease (generation {}) is released", last.versions(), last.fromSeq(), last.toSeq(),
                    last.segment() == null ? "no new segment" : last.segment(), store.describe(), pageStore.packedSeq(),
                    pageStore.writerGeneration());
        } finally {
            pageStore.close();
            store.close();
        }
    }
}
