package org.dbfs.benchmarks;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pgformat.RelTag;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.MutationReply;
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
 * How long a writer waits for the acknowledgement of one 8 KB page. Durable means the journal
 * record is fsynced (group commit: concurrent writers share an fsync). The packer runs with its
 * default thresholds, as in production, so its CPU and disk use are part of what a writer sees.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", LocalEngine.LMDB_ACCESS_1,
        LocalEngine.LMDB_ACCESS_2, LocalEngine.LMDB_ACCESS_3, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class WriteAckBenchmark {
    /** Writes land on random blocks of one relation of this many pages, like a buffer pool flushing. */
    static final int PAGES = 10_000;
    static final RelTag REL = new RelTag(1663, 5, 16384, 0);
    /** pd_lsn only moves forward, as in PostgreSQL; shared so concurrent writers never collide. */
    static final AtomicLong LSN = new AtomicLong(1_000_000L);

    @State(Scope.Benchmark)
    public static class Engine {
        LocalEngine engine;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            engine = LocalEngine.open(true);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            engine.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Server {
        LocalPageServer server;
        PageRef[] refs;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            server = LocalPageServer.start(true);
            var rel = RelTagMessages.toMessage(REL);
            refs = new PageRef[PAGES];
            for (int b = 0; b < PAGES; b++) {
                refs[b] = PageRef.newBuilder().setRel(rel).setBlockNum(b).build();
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            server.close();
        }
    }

    /** One page image per writer thread, built once: the benchmark is the write, not page building. */
    @State(Scope.Thread)
    public static class Page {
        ByteString data;

        @Setup(Level.Trial)
        public void setUp() {
            data = ByteString.copyFrom(Pages.heapPage(LSN.get(), 40,
                    new SplittableRandom(Thread.currentThread().threadId())));
        }
    }

    private static PageStore.Commit commit(Engine e, Page p, boolean durable) throws IOException {
        int block = ThreadLocalRandom.current().nextInt(PAGES);
        return e.engine.store.commit(LocalEngine.pageWrite(REL, block, LSN.incrementAndGet(), p.data), durable);
    }

    @Benchmark
    @Threads(1)
    public PageStore.Commit durable1Thread(Engine e, Page p) throws IOException {
        return commit(e, p, true);
    }

    @Benchmark
    @Threads(4)
    public PageStore.Commit durable4Threads(Engine e, Page p) throws IOException {
        return commit(e, p, true);
    }

    /** The journal append alone: what durable minus this costs is the fsync and its wait. */
    @Benchmark
    @Threads(1)
    public PageStore.Commit nonDurable1Thread(Engine e, Page p) throws IOException {
        return commit(e, p, false);
    }

    private static MutationReply put(Server s, Page p) {
        PageRef ref = s.refs[ThreadLocalRandom.current().nextInt(PAGES)];
        return s.server.stub.putPages(PutPagesRequest.newBuilder().setDurable(true)
                .addPages(PageWrite.newBuilder().setPage(ref).setLsn(LSN.incrementAndGet()).setData(p.data))
                .build());
    }

    @Benchmark
    @Threads(1)
    public MutationReply grpcDurable1Thread(Server s, Page p) {
        return put(s, p);
    }

    @Benchmark
    @Threads(4)
    public MutationReply grpcDurable4Threads(Server s, Page p) {
        return put(s, p);
    }
}
