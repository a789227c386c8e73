package org.dbfs.benchmarks;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/** 8 KB page images for the benchmarks. */
final class Pages {
    static final int SIZE = 8192;
    private static final int HEADER = 24;
    private static final int TUPLE_HEADER = 24;
    private static final String[] WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"};

    private Pages() {}

    /**
     * A heap page as PostgreSQL lays it out: header and line pointers at the front, tuples packed
     * against the end, zeros in between. How much of the page is rows decides how well zstd does,
     * so this, not random bytes, is what the codec and packed reads mostly see in practice.
     */
    static byte[] heapPage(long lsn, int rows, SplittableRandom rnd) {
        ByteBuffer p = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        int lower = HEADER + 4 * rows;
        int upper = SIZE;
        for (int i = 0; i < rows; i++) {
            byte[] text = rowText(rnd);
            int len = TUPLE_HEADER + 12 + text.length;
            upper -= (len + 7) & ~7; // MAXALIGN
            p.putInt(HEADER + 4 * i, upper | (1 << 15) | (len << 17)); // lp_off, LP_NORMAL, lp_len
            p.putInt(upper, (int) (lsn >>> 8) + i); // t_xmin
            p.putShort(upper + 18, (short) 3);      // t_infomask2: natts
            p.put(upper + 22, (byte) TUPLE_HEADER); // t_hoff
            p.putInt(upper + TUPLE_HEADER, rnd.nextInt(1_000_000)); // aid
            p.putInt(upper + TUPLE_HEADER + 4, rnd.nextInt(100));   // bid
            p.putInt(upper + TUPLE_HEADER + 8, rnd.nextInt(-5000, 5000)); // abalance
            p.put(upper + TUPLE_HEADER + 12, text);
        }
        p.putInt(0, (int) (lsn >>> 32)).putInt(4, (int) lsn);
        p.putShort(12, (short) lower).putShort(14, (short) upper).putShort(16, (short) SIZE);
        p.putShort(18, (short) (SIZE | 4)); // pd_pagesize_version
        return p.array();
    }

    /** Incompressible: the worst case for the codec (zstd is tried, then skipped). */
    static byte[] randomPage(SplittableRandom rnd) {
        byte[] p = new byte[SIZE];
        rnd.nextBytes(p);
        return p;
    }

    private static byte[] rowText(SplittableRandom rnd) {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 60) {
            sb.append(WORDS[rnd.nextInt(WORDS.length)]).append(' ').append(rnd.nextInt(100_000)).append(' ');
        }
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }
}
