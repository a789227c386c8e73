package org.dbfs.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.dbfs.pageserver.getpage.Materialized;
import org.dbfs.pageserver.getpage.PageMaterializer;
import org.dbfs.pageserver.getpage.PageWal;
import org.dbfs.pageserver.getpage.WalRecordRef;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.page.Page;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.WalReadResult;
import org.dbfs.pgformat.wal.WalReader;
import org.dbfs.pgformat.wal.WalSource;
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
 * GetPage@LSN inside the page server ({@link PageMaterializer}), with the WAL service's index and WAL
 * in memory so that the score is the materializer's own cost, not the network's: {@code cache}
 * answers from the materialized-page cache (the LSN asked for before), {@code redo} rebuilds the page
 * every time from a Heap/INSERT+INIT base and {@link #chain} - 1 more inserts, decoding each record
 * from WAL bytes as the page server does after ReadWal. Score = microseconds per page.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class GetPageAtLsnBenchmark {
    private static final RelTag REL = new RelTag(1663, 5, 16397, 0);
    private static final long BLOCK = 7;

    @Param({"1", "10", "100"})
    int chain;

    @Param({"cache", "redo"})
    String mode;

    private PageMaterializer materializer;
    private long lsn;

    /** The chain as the index lists it, and its records decoded from the WAL bytes on every read. */
    private record InMemoryWal(WalSource wal, List<WalRecordRef> refs) implements PageWal {
        @Override
        public List<WalRecordRef> records(RelTag rel, long block, long fromLsn, long toLsn, boolean fromLastBase, long waitMs) {
            return refs;
        }

        @Override
        public List<DecodedRecord> read(List<WalRecordRef> records) {
            List<DecodedRecord> out = new ArrayList<>(records.size());
            WalReader reader = WalReader.atRecord(wal, records.getFirst().lsn(), RedoBenchmark.SEG, 0);
            for (WalRecordRef r : records) {
                reader.seek(r.lsn()); // as RemoteWal reads a chain: one reader, random access
                out.add(((DecodedRecord) reader.next()).copy());
            }
            return out;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        byte[] bytes = new byte[1 << 20];
        CRC32C crc = new CRC32C();
        int[] n = {0};
        int len = SyntheticWal.fill(bytes, RedoBenchmark.SEG, RedoBenchmark.SEG,
                (rec, prev) -> n[0] < chain ? RedoBenchmark.heapInsert(rec, prev, ++n[0], crc) : 0);
        WalSource wal = WalSource.ofBytes(RedoBenchmark.SEG, bytes, len);
        WalReader reader = WalReader.atRecord(wal, RedoBenchmark.SEG + 40, RedoBenchmark.SEG, 0);
        List<WalRecordRef> refs = new ArrayList<>();
        for (WalReadResult r = reader.next(); r instanceof DecodedRecord rec; r = reader.next()) {
            refs.add(new WalRecordRef(rec.lsn(), rec.endLsn(), false, rec.willInit(0), false));
        }
        lsn = refs.getLast().endLsn();
        materializer = new PageMaterializer((rel, block, at) -> null, new InMemoryWal(wal, refs), false,
                mode.equals("cache") ? 1024 : 0);
        Materialized m = getPage();
        if (Page.maxOffsetNumber(m.page()) != chain || m.redone() != chain) {
            throw new IllegalStateException("materialized " + Page.maxOffsetNumber(m.page()) + " tuples with " + m.redone() + " records");
        }
    }

    @Benchmark
    public Materialized getPage() {
        return materializer.materialize(REL, BLOCK, lsn, 1_000);
    }
}
