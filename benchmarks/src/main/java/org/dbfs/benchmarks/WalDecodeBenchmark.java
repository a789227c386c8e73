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
        length = SyntheticWal.fill(wal, START, SEG, new SplittableRandom(11));
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

    /** Lays out records and page headers the way PostgreSQL does, from {@code start} (a segment start). */
    static final class SyntheticWal {
        private SyntheticWal() {
        }

        static int fill(byte[] wal, long start, int segSize, SplittableRandom rnd) {
            ByteBuffer b = ByteBuffer.wrap(wal).order(ByteOrder.LITTLE_ENDIAN);
            CRC32C crc = new CRC32C();
            long pos = start + 40;
            long prev = start - 1024;
            byte[] rec = new byte[16384];
            writePageHeader(b, 0, start, segSize, 0);
            while (true) {
                int len = buildRecord(rec, prev, rnd, crc);
                if (pos - start + len + 2 * 8192 > wal.length) {
                    return (int) (pos - start);
                }
                prev = pos;
                int done = 0;
                while (done < len) {
                    int off = (int) (pos - start);
                    int n = Math.min(len - done, 8192 - off % 8192);
                    System.arraycopy(rec, done, wal, off, n);
                    done += n;
                    pos += n;
                    if ((pos - start) % 8192 == 0) {
                        int pageOff = (int) (pos - start);
                        int hs = writePageHeader(b, pageOff, pos, segSize, done < len ? len - done : 0);
                        pos += hs;
                    }
                }
                long aligned = (pos + 7) & ~7L;
                if ((aligned - start) % 8192 == 0 && aligned != pos) {
                    pos = aligned + writePageHeader(b, (int) (aligned - start), aligned, segSize, 0);
                } else {
                    pos = aligned;
                }
            }
        }

        private static int writePageHeader(ByteBuffer b, int off, long addr, int segSize, int remLen) {
            boolean isLong = addr % segSize == 0;
            b.putShort(off, (short) 0xD110);
            b.putShort(off + 2, (short) ((remLen > 0 ? 1 : 0) | (isLong ? 2 : 0) | 4));
            b.putInt(off + 4, 1);
            b.putLong(off + 8, addr);
            b.putInt(off + 16, remLen);
            if (isLong) {
                b.putLong(off + 24, 7_300_000_000_000_000_000L);
                b.putInt(off + 32, segSize);
                b.putInt(off + 36, 8192);
                return 40;
            }
            return 24;
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
}
