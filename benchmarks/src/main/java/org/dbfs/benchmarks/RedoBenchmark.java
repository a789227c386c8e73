package org.dbfs.benchmarks;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.dbfs.pgformat.redo.RedoEngine;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.WalReadResult;
import org.dbfs.pgformat.wal.WalReader;
import org.dbfs.pgformat.wal.WalSource;
import org.dbfs.pgformat.wal.XLogRecord;
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
 * Page materialization by native redo: one operation rebuilds one heap page from nothing by applying
 * a chain of {@link #chain} heap records (Heap/INSERT+INIT, then Heap/INSERTs of 40-byte tuples),
 * decoded once up front. Score = pages materialized per second.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class RedoBenchmark {
    static final int SEG = 16 << 20;
    static final int BODY = 40;

    @Param({"1", "10", "100"})
    int chain;

    private DecodedRecord[] records;
    private final byte[] page = new byte[8192];
    private final RedoEngine engine = new RedoEngine();

    @Setup(Level.Trial)
    public void setUp() {
        byte[] wal = new byte[1 << 20];
        CRC32C crc = new CRC32C();
        int[] n = {0};
        int len = SyntheticWal.fill(wal, SEG, SEG, (rec, prev) -> n[0] < chain ? heapInsert(rec, prev, ++n[0], crc) : 0);
        WalReader reader = WalReader.atRecord(WalSource.ofBytes(SEG, wal, len), SEG + 40, SEG, 0);
        List<DecodedRecord> list = new ArrayList<>();
        for (WalReadResult r = reader.next(); r instanceof DecodedRecord rec; r = reader.next()) {
            list.add(rec.copy());
        }
        if (list.size() != chain) {
            throw new IllegalStateException("decoded " + list.size() + " of " + chain + " records");
        }
        records = list.toArray(DecodedRecord[]::new);
        materialize();
        if (org.dbfs.pgformat.page.Page.maxOffsetNumber(page) != chain) {
            throw new IllegalStateException("redo built " + org.dbfs.pgformat.page.Page.maxOffsetNumber(page) + " tuples");
        }
    }

    /** Applies the whole chain to block 0 of a fresh page; returns pd_lower so nothing is optimized away. */
    @Benchmark
    public int materialize() {
        for (DecodedRecord rec : records) {
            engine.apply(rec, 0, page);
        }
        return page[12];
    }

    /** A Heap/INSERT (+INIT for the first) of a BODY-byte tuple at offnum {@code offnum} of block 7. */
    static int heapInsert(byte[] r, long prev, int offnum, CRC32C crc) {
        ByteBuffer b = ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN);
        boolean init = offnum == 1;
        int dataLen = 5 + BODY;
        int p = 24;
        r[p++] = 0;
        r[p++] = (byte) (XLogRecord.BKPBLOCK_HAS_DATA | (init ? XLogRecord.BKPBLOCK_WILL_INIT : 0));
        b.putShort(p, (short) dataLen);
        p += 2;
        b.putInt(p, 1663).putInt(p + 4, 5).putInt(p + 8, 16397).putInt(p + 12, 7);
        p += 16;
        r[p++] = (byte) XLogRecord.XLR_BLOCK_ID_DATA_SHORT;
        r[p++] = 3;
        b.putShort(p, (short) 3).putShort(p + 2, (short) 0x0802); // xl_heap_header: natts 3, XMAX_INVALID|HASVARWIDTH
        r[p + 4] = 24;
        for (int i = 5; i < dataLen; i++) {
            r[p + i] = (byte) (offnum + i);
        }
        p += dataLen;
        b.putShort(p, (short) offnum);
        r[p + 2] = 0;
        int total = p + 3;
        b.putInt(0, total);
        b.putInt(4, 1000 + offnum);
        b.putLong(8, prev);
        r[16] = (byte) (init ? 0x80 : 0x00);
        r[17] = 10;
        b.putInt(20, XLogRecord.computeCrc(crc, r, 0, total));
        return total;
    }
}
