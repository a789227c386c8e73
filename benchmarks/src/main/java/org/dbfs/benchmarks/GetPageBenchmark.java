package org.dbfs.benchmarks;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pgformat.RelTag;
import org.dbfs.protocol.framed.Frames;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.GetPagesReply;
import org.dbfs.protocol.pageserver.v1.GetPagesRequest;
import org.dbfs.protocol.pageserver.v1.PageRef;
import org.dbfs.protocol.pageserver.v1.PageWrite;
import org.dbfs.protocol.pageserver.v1.PutPagesRequest;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * GetPage when the page is already in the page server's memory: the path a PostgreSQL buffer miss
 * takes when the page server's caches are warm. Blocks are picked at random among {@link #PAGES}
 * so the index lookups are not all served from one CPU cache line.
 */
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", LocalEngine.LMDB_ACCESS_1,
        LocalEngine.LMDB_ACCESS_2, LocalEngine.LMDB_ACCESS_3, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class GetPageBenchmark {
    static final int PAGES = 10_000;
    static final int BATCH = 32;
    static final RelTag UNPACKED = new RelTag(1663, 5, 16384, 0);
    static final RelTag PACKED = new RelTag(1663, 5, 16385, 0);

    /** The engine alone: one relation still in memory after commit, one packed into a segment. */
    @State(Scope.Benchmark)
    public static class Engine {
        LocalEngine engine;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            engine = LocalEngine.open(false);
            write(engine, PACKED);
            engine.store.packNow();
            // Read every packed page once so the measurement sees the frame memory cache, not the
            // segment file and a decrypt.
            for (int b = 0; b < PAGES; b++) {
                require(engine.store.readPage(PACKED, b, 0));
            }
            write(engine, UNPACKED);
            require(engine.store.readPage(UNPACKED, PAGES - 1, 0));
        }

        static void write(LocalEngine engine, RelTag rel) throws IOException {
            SplittableRandom rnd = new SplittableRandom(rel.relNode());
            for (int b = 0; b < PAGES; b++) {
                long lsn = 1_000_000L + b;
                engine.store.commit(LocalEngine.pageWrite(rel, b, lsn,
                        ByteString.copyFrom(Pages.heapPage(lsn, 40, rnd))), false);
            }
            engine.store.sync();
        }

        private static void require(PageStore.StoredBlock page) {
            if (page == null || page.data().length != Pages.SIZE) {
                throw new IllegalStateException("setup wrote a page it cannot read back");
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            engine.close();
        }
    }

    /**
     * A packed relation whose version index the memory cache cannot hold (16 blocks of 10,000):
     * nearly every read looks its block up in the on-disk index (LMDB).
     */
    @State(Scope.Benchmark)
    public static class IndexOnDisk {
        LocalEngine engine;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            engine = LocalEngine.open(o -> o.withPacking(Long.MAX_VALUE, java.time.Duration.ofDays(365))
                    .withCachedIndexBlocks(16));
            Engine.write(engine, PACKED);
            engine.store.packNow();
            for (int b = 0; b < PAGES; b++) {
                Engine.require(engine.store.readPage(PACKED, b, 0)); // frames into the frame cache
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            engine.close();
        }
    }

    /** A page server on loopback holding {@link #PAGES} packed, memory-cached pages. */
    @State(Scope.Benchmark)
    public static class Server {
        LocalPageServer server;
        PageRef[] refs;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            server = LocalPageServer.start(false);
            var rel = RelTagMessages.toMessage(PACKED);
            refs = new PageRef[PAGES];
            SplittableRandom rnd = new SplittableRandom(42);
            PutPagesRequest.Builder put = PutPagesRequest.newBuilder();
            for (int b = 0; b < PAGES; b++) {
                refs[b] = PageRef.newBuilder().setRel(rel).setBlockNum(b).build();
                long lsn = 1_000_000L + b;
                put.addPages(PageWrite.newBuilder().setPage(refs[b]).setLsn(lsn)
                        .setData(ByteString.copyFrom(Pages.heapPage(lsn, 40, rnd))));
                if (put.getPagesCount() == 100 || b == PAGES - 1) {
                    server.stub.putPages(put.setDurable(b == PAGES - 1).build());
                    put.clear();
                }
            }
            server.server.pageStore().packNow();
            for (int b = 0; b < PAGES; b += BATCH) {
                GetPagesRequest.Builder get = GetPagesRequest.newBuilder();
                for (int i = b; i < Math.min(PAGES, b + BATCH); i++) {
                    get.addPages(refs[i]);
                }
                for (var image : server.stub.getPages(get.build()).getPagesList()) {
                    if (image.getAbsent() || image.getData().size() != Pages.SIZE) {
                        throw new IllegalStateException("setup wrote a page it cannot read back");
                    }
                }
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            server.close();
        }
    }

    /** One connection per benchmark thread in the page server's framing on its TCP port, as a mount's FUSE thread has. */
    @State(Scope.Thread)
    public static class FramedConnection {
        SocketChannel channel;
        Frames frames;

        @Setup(Level.Trial)
        public void setUp(Server s) throws IOException {
            channel = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), s.server.server.port()));
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            frames = new Frames(channel);
            frames.writePreface();
        }

        GetPagesReply call(GetPagesRequest request) throws IOException {
            frames.writeRequest("GetPages", request);
            Frames.Reply reply = frames.readReply();
            if (!reply.ok()) {
                throw reply.status().asRuntimeException();
            }
            return GetPagesReply.parseFrom(reply.payload());
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            channel.close();
        }
    }

    private static int randomBlock() {
        return ThreadLocalRandom.current().nextInt(PAGES);
    }

    @Benchmark
    @BenchmarkMode({Mode.Throughput, Mode.AverageTime})
    public PageStore.StoredBlock engineUnpacked(Engine s) {
        return s.engine.store.readPage(UNPACKED, randomBlock(), 0);
    }

    @Benchmark
    @BenchmarkMode({Mode.Throughput, Mode.AverageTime})
    public PageStore.StoredBlock enginePackedCached(Engine s) {
        return s.engine.store.readPage(PACKED, randomBlock(), 0);
    }

    @Benchmark
    @BenchmarkMode({Mode.Throughput, Mode.AverageTime})
    public PageStore.StoredBlock enginePackedIndexOnDisk(IndexOnDisk s) {
        return s.engine.store.readPage(PACKED, randomBlock(), 0);
    }

    /**
     * SampleTime only: a network round trip has a tail worth seeing, and with one thread its
     * throughput is just 1 / mean, not worth a second fork.
     */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    public GetPagesReply grpcOnePage(Server s) {
        return s.server.stub.getPages(GetPagesRequest.newBuilder().addPages(s.refs[randomBlock()]).build());
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @Threads(4)
    public GetPagesReply grpcOnePage4Threads(Server s) {
        return grpcOnePage(s);
    }

    /** As a mount asks: its own framing over TCP on the page server's --listen port. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    public GetPagesReply framedOnePage(Server s, FramedConnection c) throws IOException {
        return c.call(GetPagesRequest.newBuilder().addPages(s.refs[randomBlock()]).build());
    }

    /** Four mount threads at once (2 vCPUs here: oversubscribed on purpose). */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @Threads(4)
    public GetPagesReply framedOnePage4Threads(Server s, FramedConnection c) throws IOException {
        return framedOnePage(s, c);
    }

    /** What a prefetching reader would send; one op = one request of {@link #BATCH} pages. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    public GetPagesReply grpcBatch32(Server s) {
        GetPagesRequest.Builder req = GetPagesRequest.newBuilder();
        for (int i = 0; i < BATCH; i++) {
            req.addPages(s.refs[randomBlock()]);
        }
        return s.server.stub.getPages(req.build());
    }
}
