package org.dbfs.benchmarks;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.GcmFrames;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Seal (zstd + XChaCha20-Poly1305) and open of one 8 KB page: every page packed into a segment and
 * every page read from a segment file or the bucket pays one of these. {@link #sealJournal}: what a
 * journal append pays instead (AES-256-GCM, no compression; {@code GcmFrames}).
 */
@State(Scope.Thread)
@BenchmarkMode({Mode.Throughput, Mode.AverageTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", LocalEngine.LMDB_ACCESS_1,
        LocalEngine.LMDB_ACCESS_2, LocalEngine.LMDB_ACCESS_3, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class FrameCodecBenchmark {
    /** heap: a PostgreSQL heap page a quarter full of rows, the rest zeros. random: incompressible. */
    @Param({"heap", "random"})
    public String content;

    private final FrameCodec codec = LocalEngine.CODEC;
    private byte[] page;
    private byte[] frame;
    private byte[] ad;
    private final GcmFrames journal = LocalEngine.CODEC.journalFrames("00000000000000000001.gcm.journal");

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom rnd = new SplittableRandom(7);
        page = content.equals("heap") ? Pages.heapPage(1_000_000L, 20, rnd) : Pages.randomPage(rnd);
        ad = FrameCodec.associatedData("00000000000000000001.journal", 4096);
        frame = codec.seal(page, ad);
    }

    @Benchmark
    public byte[] seal() {
        return codec.seal(page, ad);
    }

    @Benchmark
    public byte[] sealJournal() {
        return journal.seal(page, ad);
    }

    @Benchmark
    public byte[] open() {
        return codec.open(frame, ad, "benchmark frame");
    }
}
