package org.dbfs.benchmarks;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

import org.dbfs.pgformat.wal.BlockImages;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.WalEnd;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * WAL decode throughput: read, CRC-check and decode 32 MB of pgbench-like WAL (two 16 MB segments)
 * from memory. The WAL is synthetic but shaped like a pgbench run: mostly 60..200-byte heap and
 * btree records with one or two block references, one in 40 with an uncompressed full-page image
 * with a hole. One operation is the whole 32 MB: MB/s = score * 32.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class WalDecodeBenchmark {
    static final int SEG = 16 << 20;
    static final long START = SEG;

    private byte[] wal;
    private int length;
    private final byte[] page = new byte[8192];
    private final byte[] scratch = new byte[8192];

    @Setup(Level.Trial)
    public void setUp() {
        wal = new byte[2 * SEG];
        SplittableRandom rnd = new SplittableRandom(11);
        CRC32C crc = new CRC32C();
        length = SyntheticWal.fill(wal, START, SEG, (rec, prev) -> buildRecord(rec, prev, rnd, crc));
        // The synthetic WAL must be valid to the end, or the benchmark would time an early stop.
        WalReader reader = WalReader.atRecord(WalSource.ofBytes(START, wal, length), START, SEG, 0);
        WalReadResult r = reader.next();
        while (r instanceof DecodedRecord) {
            r = reader.next();
        }
        if (!(r instanceof WalEnd end) || end.reason() != WalEnd.Reason.NEED_MORE_BYTES || reader.position() < START + length - 8192) {
            throw new IllegalStateException("synthetic WAL does not decode to its end: " + r);
        }
    }

    /** Decodes every record; returns a checksum of their lengths so nothing is optimized away. */
    @Benchmark
    public long decode32MB() {
        WalReader reader = WalReader.atRecord(WalSource.ofBytes(START, wal, length), START, SEG, 0);
        long sum = 0;
        for (WalReadResult r = reader.next(); r instanceof DecodedRecord rec; r = reader.next()) {
            sum += rec.totalLength() + rec.maxBlockId();
        }
        return sum;
    }

    /** Decodes and restores every full-page image. */
    @Benchmark
    public long decodeAndRestoreImages32MB() {
        WalReader reader = WalReader.atRecord(WalSource.ofBytes(START, wal, length), START, SEG, 0);
        long sum = 0;
        for (WalReadResult r = reader.next(); r instanceof DecodedRecord rec; r = reader.next()) {
            for (int id = 0; id <= rec.maxBlockId(); id++) {
                if (rec.hasBlockRef(id) && rec.hasImage(id)) {
                    BlockImages.restoreBlockImage(rec, id, page, 0, scratch);
                    sum += page[100];
                }
            }
        }
        return sum;
    }

    /** A Heap UPDATE-like record (block 0 + data, maybe block 1), or one with a hole image. */
    private static int buildRecord(byte[] r, long prev, SplittableRandom rnd, CRC32C crc) {
        ByteBuffer b = ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN);
        boolean image = rnd.nextInt(40) == 0;
        int blocks = rnd.nextInt(3) == 0 ? 2 : 1;
        int dataLen = 20 + rnd.nextInt(120);
        int p = 24;
        int holeLen = 4000 + rnd.nextInt(3000);
        int imgLen = 8192 - holeLen;
        int payload = 0;
        for (int id = 0; id < blocks; id++) {
            boolean img = image && id == 0;
            r[p++] = (byte) id;
            r[p++] = (byte) ((img ? XLogRecord.BKPBLOCK_HAS_IMAGE : XLogRecord.BKPBLOCK_HAS_DATA)
                    | (id > 0 ? XLogRecord.BKPBLOCK_SAME_REL : 0));
            b.putShort(p, (short) (img ? 0 : dataLen));
            p += 2;
            if (img) {
                b.putShort(p, (short) imgLen);
                b.putShort(p + 2, (short) 200);
                r[p + 4] = (byte) (XLogRecord.BKPIMAGE_HAS_HOLE | XLogRecord.BKPIMAGE_APPLY);
                p += 5;
                payload += imgLen;
            } else {
                payload += dataLen;
            }
            if (id == 0) {
                b.putInt(p, 1663);
                b.putInt(p + 4, 5);
                b.putInt(p + 8, 16397);
                p += 12;
            }
            b.putInt(p, rnd.nextInt(3300));
            p += 4;
        }
        int mainLen = 14;
        r[p++] = (byte) XLogRecord.XLR_BLOCK_ID_DATA_SHORT;
        r[p++] = (byte) mainLen;
        int total = p + payload + mainLen;
        for (int i = p; i < total; i++) {
            r[i] = (byte) rnd.nextInt(256);
        }
        b.putInt(0, total);
        b.putInt(4, 1000 + rnd.nextInt(100000));
        b.putLong(8, prev);
        r[16] = 0x20; // Heap UPDATE
        r[17] = 10;
        b.putInt(20, XLogRecord.computeCrc(crc, r, 0, total));
        return total;
    }
}
