package org.dbfs.benchmarks;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.dbfs.pageserver.store.GcOptions;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pgformat.RelTag;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Packing and compaction throughput on a local-directory bucket: one pack of {@value #PAGES} heap
 * pages (32 MiB) into a segment, and one garbage collection that rewrites such a segment after 60 %
 * of its pages were overwritten (retention 0: their old versions are dead). Divide 32 MiB by the
 * time per operation for MiB/s (pack: everything; compact: the 40 % that is live is rewritten).
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", LocalEngine.LMDB_ACCESS_1,
        LocalEngine.LMDB_ACCESS_2, LocalEngine.LMDB_ACCESS_3, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class PackAndCompactBenchmark {
    static final int PAGES = 4096;
    static final RelTag REL = new RelTag(1663, 5, 24576, 0);

    /** A fresh store holding {@value #PAGES} unpacked pages; nothing packs or collects on its own. */
    @State(Scope.Thread)
    public static class Unpacked {
        LocalEngine engine;
        PageStore store;

        @Setup(Level.Invocation)
        public void fill() throws IOException {
            open();
        }

        final void open() throws IOException {
            engine = LocalEngine.open(o -> o.withPacking(Long.MAX_VALUE, Duration.ofDays(365))
                    .withGc(GcOptions.defaults().withRetention(Duration.ZERO).withTiming(Duration.ofDays(365), Duration.ZERO)));
            store = engine.store;
            write(0, PAGES, 1);
        }

        void write(int from, int to, long lsnBase) throws IOException {
            SplittableRandom rnd = new SplittableRandom(from + lsnBase);
            for (int block = from; block < to; block++) {
                long lsn = lsnBase + block;
                store.commit(LocalEngine.pageWrite(REL, block, lsn, ByteString.copyFrom(Pages.heapPage(lsn, 40, rnd))));
            }
        }

        @TearDown(Level.Invocation)
        public void close() throws IOException {
            engine.close();
        }
    }

    /** Those pages packed, then 60 % of them overwritten and packed again: the first segment is 40 % live. */
    @State(Scope.Thread)
    public static class MostlyDead extends Unpacked {
        @Override
        @Setup(Level.Invocation)
        public void fill() throws IOException {
            open();
            store.packNow();
            write(0, PAGES * 6 / 10, 1_000_000);
            store.packNow();
        }
    }

    @Benchmark
    public void pack32MiB(Unpacked s) throws IOException {
        s.store.packNow();
    }

    @Benchmark
    public Object compactSegmentWith40PercentLive(MostlyDead s) throws IOException {
        return s.store.collectGarbage();
    }
}
