package org.dbfs.pageserver.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import com.github.luben.zstd.ZstdCompressCtx;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Rough numbers, printed to the test output (target/surefire-reports/*-output.txt); not a
 * benchmark harness, and nothing here fails on speed. Single thread.
 */
class CryptoThroughputTest {
    private static final int PAGE = 8192;
    private static final int PAGES = 512;

    private static Map<String, byte[][]> workloads() {
        Map<String, byte[][]> w = new LinkedHashMap<>();
        byte[][] random = new byte[PAGES][];
        byte[][] rows = new byte[PAGES][];
        byte[][] halfFull = new byte[PAGES][];
        for (int i = 0; i < PAGES; i++) {
            random[i] = FrameCodecTest.random(PAGE, i);
            rows[i] = FrameCodecTest.compressible(PAGE, i);
            // a heap page with free space in the middle: zeros, then rows
            halfFull[i] = new byte[PAGE];
            System.arraycopy(FrameCodecTest.compressible(PAGE / 2, i + 7), 0, halfFull[i], PAGE / 2, PAGE / 2);
        }
        w.put("random", random);
        w.put("text rows", rows);
        w.put("half-full", halfFull);
        return w;
    }

    @Test
    void sealAndOpenThroughputOf8KiBPages() {
        FrameCodec codec = FrameCodec.forKey(FrameCodecTest.random(32, 99));
        byte[] ad = FrameCodec.associatedData("segments/0001.seg", 0);
        for (Map.Entry<String, byte[][]> e : workloads().entrySet()) {
            byte[][] pages = e.getValue();
            byte[][] frames = new byte[PAGES][];
            // Warm up until the JIT has settled (a few thousand calls are not enough on 2 cores).
            long warmUntil = System.nanoTime() + 1_000_000_000L;
            while (System.nanoTime() < warmUntil) {
                for (int i = 0; i < PAGES; i++) {
                    frames[i] = codec.seal(pages[i], ad);
                    codec.open(frames[i], ad, "warm-up");
                }
            }
            int rounds = 40;
            long t0 = System.nanoTime();
            long sealedBytes = 0;
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < PAGES; i++) {
                    frames[i] = codec.seal(pages[i], ad);
                    sealedBytes += frames[i].length;
                }
            }
            long t1 = System.nanoTime();
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < PAGES; i++) {
                    codec.open(frames[i], ad, "bench");
                }
            }
            long t2 = System.nanoTime();
            assertArrayEquals(pages[3], codec.open(frames[3], ad, "bench"));
            double mib = (double) rounds * PAGES * PAGE / (1 << 20);
            System.out.printf("FrameCodec %-10s 8 KiB pages: seal %7.0f MiB/s (%5.1f us/page), open %7.0f MiB/s (%5.1f us/page), frame %5.1f%% of page%n",
                    e.getKey(), mib / ((t1 - t0) / 1e9), (t1 - t0) / 1e3 / (rounds * PAGES),
                    mib / ((t2 - t1) / 1e9), (t2 - t1) / 1e3 / (rounds * PAGES),
                    100.0 * sealedBytes / ((double) rounds * PAGES * PAGE));
        }
    }

    /** Why FrameCodec.ZSTD_LEVEL is what it is. */
    @Test
    void zstdLevelOneVersusThree() {
        for (Map.Entry<String, byte[][]> e : workloads().entrySet()) {
            for (int level : new int[] {1, 3}) {
                try (ZstdCompressCtx ctx = new ZstdCompressCtx().setLevel(level)) {
                    byte[] dst = new byte[PAGE * 2];
                    long warmUntil = System.nanoTime() + 300_000_000L;
                    while (System.nanoTime() < warmUntil) {
                        for (byte[] p : e.getValue()) {
                            ctx.compressByteArray(dst, 0, dst.length, p, 0, p.length);
                        }
                    }
                    int rounds = 40;
                    long total = 0;
                    long t0 = System.nanoTime();
                    for (int r = 0; r < rounds; r++) {
                        for (byte[] p : e.getValue()) {
                            total += Math.min(p.length, ctx.compressByteArray(dst, 0, dst.length, p, 0, p.length));
                        }
                    }
                    long t = System.nanoTime() - t0;
                    System.out.printf("zstd level %d %-10s: %7.0f MiB/s, %5.1f%% of input%n", level, e.getKey(),
                            (double) rounds * PAGES * PAGE / (1 << 20) / (t / 1e9),
                            100.0 * total / ((double) rounds * PAGES * PAGE));
                }
            }
        }
    }

    @Test
    void argon2idDerivationTime() {
        byte[] salt = KeyDerivation.newSalt();
        char[] pw = "benchmark passphrase".toCharArray();
        KeyDerivation.argon2id(pw, salt, KeyDerivation.Cost.DEFAULT); // warm-up
        long[] ms = new long[3];
        for (int i = 0; i < ms.length; i++) {
            long t0 = System.nanoTime();
            KeyDerivation.argon2id(pw, salt, KeyDerivation.Cost.DEFAULT);
            ms[i] = (System.nanoTime() - t0) / 1_000_000;
        }
        System.out.println("Argon2id m=19456 KiB t=2 p=1: " + Arrays.toString(ms) + " ms");
        assertArrayEquals(KeyDerivation.argon2id(pw, salt, KeyDerivation.Cost.DEFAULT),
                KeyDerivation.argon2id(pw, salt, KeyDerivation.Cost.DEFAULT));
    }
}
