package org.dbfs.walservice.server;

import io.grpc.Server;
import java.net.InetAddress;
import org.dbfs.protocol.framed.FramedMethods;
import org.dbfs.protocol.framed.FramedServer;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;
import org.dbfs.bucket.crypto.BucketKeys;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.walservice.archive.ArchiveReader;
import org.dbfs.walservice.archive.FollowedTimelines;
import org.dbfs.walservice.archive.WalArchiver;
import org.dbfs.walservice.index.IndexStage;
import org.dbfs.walservice.index.WalIndex;
import org.dbfs.walservice.replication.WalReceiver;
import org.dbfs.walservice.wal.DurableWalWriter;
import org.dbfs.walservice.wal.LocalSegmentRetirer;
import org.dbfs.walservice.wal.WalPositions;
import io.grpc.ServerInterceptors;
import org.dbfs.metrics.GrpcRequestTimer;
import org.dbfs.metrics.MetricsEndpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running WAL service: bucket, local WAL, receiver, archiver, index (+ its stage when a decoder
 * is plugged in) and the endpoint (framed and gRPC on one port).
 *
 * <p>Start order: the bucket must be reachable and the passphrase must open its key check before
 * the data directory is touched (bad input changes nothing); the archive's end is found before the
 * archiver starts; the gRPC endpoint is up before the primary is reached, so archived WAL stays
 * readable while the primary is away.
 *
 * <p>Stop order ({@link #close}): receiver (final fsync and position file), archiver (final
 * upload of everything durable), index stage, gRPC, index, bucket.
 */
public final class WalServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WalServer.class);

    private final ObjectStore store;
    private final WalPositions positions;
    private final WalIndex index;
    private final WalReceiver receiver;
    private final Thread receiverThread;
    private final WalArchiver archiver;
    private final Thread archiverThread;
    private final IndexStage indexStage;
    private final Thread indexThread;
    private final Server grpc;
    private final FramedServer framed;
    private final WalServiceMetrics metrics;
    private MetricsEndpoint metricsEndpoint; // guarded by this
    private boolean closed;

    private WalServer(ObjectStore store, WalPositions positions, WalIndex index, WalReceiver receiver, Thread receiverThread,
            WalArchiver archiver, Thread archiverThread, IndexStage indexStage, Thread indexThread, Server grpc,
                      FramedServer framed, WalServiceMetrics metrics) {
        this.metrics = metrics;
        this.store = store;
        this.positions = positions;
        this.index = index;
        this.receiver = receiver;
        this.receiverThread = receiverThread;
        this.archiver = archiver;
        this.archiverThread = archiverThread;
        this.indexStage = indexStage;
        this.indexThread = indexThread;
        this.grpc = grpc;
        this.framed = framed;
    }

    public static WalServer start(WalServerConfig config) throws IOException {
        ObjectStore store = ObjectStores.open(config.bucketUrl(), config.s3Endpoint());
        WalIndex index = null;
        try {
            store.checkReachable();
            FrameCodec codec = BucketKeys.openOrCreate(store, config.passphrase());

            Files.createDirectories(config.dataDir());
            WalPositions positions = new WalPositions();
            DurableWalWriter resumed = WalReceiver.resume(config.dataDir(), positions);
            index = WalIndex.open(config.dataDir().resolve("index"));
            positions.indexed(index.indexedUpTo());

            FollowedTimelines timelines = new FollowedTimelines(store, codec);
            if (resumed == null) {
                // A branch's primary is on a timeline of its own from the first record this service sees.
                var primaryTimeline = WalReceiver.primaryTimeline(config.primary());
                if (primaryTimeline.isPresent() && primaryTimeline.getAsInt() > 1 && timelines.startAt(primaryTimeline.getAsInt())) {
                    LOG.info("walservice: first start for a primary on timeline {}: the archive holds that timeline from"
                            + " its start", primaryTimeline.getAsInt());
                }
            }
            ArchiveReader archive = new ArchiveReader(store, codec, timelines, positions::segmentSize);
            WalBytesReader reader = new WalBytesReader(WalReceiver.walDir(config.dataDir()), positions, archive);
            WalArchiver archiver = new WalArchiver(store, codec, timelines.get().current().timeline(), positions, reader,
                    new LocalSegmentRetirer(WalReceiver.walDir(config.dataDir()), positions, config.indexer() != null));
            var catalog = archiver.recover(timelines.get());
            LOG.info("walservice: archive in {} holds {} objects up to {}", store.describe(), catalog.objects().size(),
                    Lsn.format(catalog.end()));

            WalReceiver receiver = new WalReceiver(config.primary(), config.slot(), config.dataDir(), positions, resumed);
            receiver.followTimelines(timelines, archiver::switchTimeline);
            WalServiceEndpoint endpoint = new WalServiceEndpoint(positions, reader, index, receiver);
            WalServiceMetrics metrics = new WalServiceMetrics(positions);
            // gRPC listens on loopback only: its clients come in through the public port (FramedServer).
            Server grpc = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                    .addService(ServerInterceptors.intercept(endpoint, new GrpcRequestTimer(metrics.requests())))
                    .maxInboundMessageSize(16 << 20)
                    .build()
                    .start();
            FramedMethods methods = endpoint.framedMethods();
            FramedServer framed;
            try {
                // A connection declares nothing: each session just calls the methods.
                framed = FramedServer.onTcp("walservice", new InetSocketAddress(config.listenHost(), config.port()),
                        () -> (method, payload) -> metrics.requests().time(method, () -> methods.call(method, payload)),
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), grpc.getPort()));
            } catch (IOException e) {
                grpc.shutdownNow();
                throw new IOException("cannot listen on " + config.listenHost() + ":" + config.port() + ": " + e.getMessage(), e);
            }

            Thread archiverThread = Thread.ofPlatform().name("wal-archiver").daemon().start(archiver);
            IndexStage stage = null;
            Thread indexThread = null;
            if (config.indexer() != null) {
                stage = new IndexStage(index, config.indexer(), positions, WalReceiver.walDir(config.dataDir()));
                indexThread = Thread.ofPlatform().name("wal-indexer").daemon().start(stage);
            }
            Thread receiverThread = Thread.ofPlatform().name("wal-receiver").daemon().start(receiver);
            return new WalServer(store, positions, index, receiver, receiverThread, archiver, archiverThread, stage, indexThread, grpc, framed, metrics);
        } catch (IOException | RuntimeException e) {
            if (index != null) {
                index.close();
            }
            store.close();
            throw e;
        }
    }

    /** The public port: page servers' framed calls, and gRPC passed through to the internal server. */
    public int port() {
        try {
            return framed.port();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** {@code --metrics-listen}: serves the metrics at /metrics. @return the port (0 asks for a free one) */
    public synchronized int serveMetrics(String host, int port) throws IOException {
        metricsEndpoint = MetricsEndpoint.start(host, port, metrics.registry());
        return metricsEndpoint.port();
    }

    public WalPositions positions() {
        return positions;
    }

    public String bucket() {
        return store.describe();
    }

    /** Waits until the receiver gave up for good (a refused primary); returns its reason. */
    public RuntimeException awaitFatal() throws InterruptedException {
        receiverThread.join();
        return receiver.fatal();
    }

    @Override
    public synchronized void close() throws IOException {
        if (metricsEndpoint != null) {
            metricsEndpoint.close();
            metricsEndpoint = null;
        }
        if (closed) {
            return;
        }
        closed = true;
        try {
            receiver.stop(receiverThread);
            archiver.stop(archiverThread);
            try {
                archiver.drain();
            } catch (IOException | RuntimeException e) {
                LOG.error("walservice: final archive upload failed; it resumes at the next start: {}", e.toString());
            }
            if (indexStage != null) {
                indexStage.stop(indexThread);
                LOG.info("walservice: indexed {} records since start, up to {}", indexStage.recordsIndexed(),
                        Lsn.format(positions.indexed()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                framed.close();
            } catch (IOException e) {
                LOG.warn("walservice: closing the framed listener: {}", e.toString());
            }
            grpc.shutdown();
            try {
                if (!grpc.awaitTermination(5, TimeUnit.SECONDS)) {
                    grpc.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                grpc.shutdownNow();
            }
            index.close();
            store.close();
        }
    }
}
