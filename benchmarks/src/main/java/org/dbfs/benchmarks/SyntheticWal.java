package org.dbfs.benchmarks;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Lays out records and page headers the way PostgreSQL does, for benchmarks that need WAL in memory. */
final class SyntheticWal {
    /** Writes the next record (header, CRC and all) into {@code rec}; returns its length, or 0 when done. */
    @FunctionalInterface
    interface RecordBuilder {
        int build(byte[] rec, long prev);
    }

    private SyntheticWal() {
    }

    /** Fills {@code wal} from {@code start} (a segment start) until it is full or the builder is done; returns the bytes used. */
    static int fill(byte[] wal, long start, int segSize, RecordBuilder builder) {
        ByteBuffer b = ByteBuffer.wrap(wal).order(ByteOrder.LITTLE_ENDIAN);
        long pos = start + 40;
        long prev = start - 1024;
        byte[] rec = new byte[16384];
        writePageHeader(b, 0, start, segSize, 0);
        while (true) {
            int len = builder.build(rec, prev);
            if (len <= 0 || pos - start + len + 2 * 8192 > wal.length) {
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
}
