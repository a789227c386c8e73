package org.dbfs.bucket.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FrameCodecTest {
    private static final byte[] KEY = new byte[32];
    private static final byte[] OTHER_KEY = new byte[32];

    static {
        new Random(1).nextBytes(KEY);
        new Random(2).nextBytes(OTHER_KEY);
    }

    private final FrameCodec codec = FrameCodec.forKey(KEY);
    private static final byte[] AD = FrameCodec.associatedData("segments/00000000000000000007.seg", 8192);
    private static final String WHERE = "segments/00000000000000000007.seg @ 8192";

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    /** Text-like rows with some random digits: compresses, but not to nothing. */
    static byte[] compressible(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder(n + 64);
        while (sb.length() < n) {
            sb.append("row ").append(r.nextInt(100000)).append(" name=user").append(r.nextInt(1000))
                    .append(" status=active balance=").append(r.nextInt(1_000_000)).append('\n');
        }
        return Arrays.copyOf(sb.toString().getBytes(StandardCharsets.US_ASCII), n);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 8192, 1 << 20})
    void roundTripsRandomData(int size) {
        byte[] plaintext = random(size, size);
        byte[] frame = codec.seal(plaintext, AD);
        // random data does not compress, so it is stored raw at exactly the documented overhead
        assertEquals(size + FrameCodec.OVERHEAD, frame.length);
        assertArrayEquals(plaintext, codec.open(frame, AD, WHERE));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 8192, 1 << 20})
    void roundTripsCompressibleData(int size) {
        byte[] plaintext = compressible(size, size);
        byte[] frame = codec.seal(plaintext, AD);
        assertTrue(frame.length <= size + FrameCodec.OVERHEAD);
        if (size >= 8192) {
            assertTrue(frame.length < size / 2, "compressible " + size + " bytes sealed to " + frame.length);
        }
        assertArrayEquals(plaintext, codec.open(frame, AD, WHERE));
    }

    @Test
    void zeroPageShrinksToAlmostNothing() {
        byte[] frame = codec.seal(new byte[8192], AD);
        assertTrue(frame.length < 100, "zero page sealed to " + frame.length);
        assertArrayEquals(new byte[8192], codec.open(frame, AD, WHERE));
    }

    @Test
    void sealedFrameHidesThePlaintext() {
        byte[] marker = "SECRET-MARKER-0123456789".getBytes(StandardCharsets.US_ASCII);
        byte[] raw = new byte[4096];
        new SplittableRandom(5).nextBytes(raw);
        System.arraycopy(marker, 0, raw, 1000, marker.length);
        byte[] repeated = new byte[8192];
        for (int i = 0; i + marker.length <= repeated.length; i += marker.length) {
            System.arraycopy(marker, 0, repeated, i, marker.length);
        }
        for (byte[] plaintext : List.of(raw, repeated, marker)) {
            byte[] frame = codec.seal(plaintext, AD);
            assertEquals(-1, indexOf(frame, Arrays.copyOf(marker, 8)), "plaintext visible in frame");
            assertArrayEquals(plaintext, codec.open(frame, AD, WHERE));
        }
    }

    @Test
    void sameInputSealsDifferentlyEachTime() {
        byte[] p = compressible(8192, 1);
        byte[] a = codec.seal(p, AD);
        byte[] b = codec.seal(p, AD);
        assertFalse(Arrays.equals(a, b));
        assertFalse(Arrays.equals(Arrays.copyOf(a, FrameCodec.NONCE_BYTES), Arrays.copyOf(b, FrameCodec.NONCE_BYTES)));
    }

    @Test
    void everySingleByteFlipOfASmallFrameIsDetected() {
        for (byte[] plaintext : List.of(new byte[0], "x".getBytes(StandardCharsets.US_ASCII), compressible(300, 3))) {
            byte[] frame = codec.seal(plaintext, AD);
            for (int i = 0; i < frame.length; i++) {
                for (int bit : new int[] {0x01, 0x80, 0xff}) {
                    byte[] bad = frame.clone();
                    bad[i] ^= (byte) bit;
                    assertCorrupt(bad, AD);
                }
            }
        }
    }

    @Test
    void sampledByteFlipsOfABigFrameAreDetected() {
        byte[] frame = codec.seal(random(1 << 20, 9), AD);
        SplittableRandom r = new SplittableRandom(11);
        List<Integer> positions = new ArrayList<>(List.of(0, 23, 24, 25, frame.length - 17, frame.length - 16, frame.length - 1));
        for (int i = 0; i < 200; i++) {
            positions.add(r.nextInt(frame.length));
        }
        for (int i : positions) {
            byte[] bad = frame.clone();
            bad[i] ^= (byte) (1 << r.nextInt(8));
            assertCorrupt(bad, AD);
        }
    }

    @Test
    void frameMovedToAnotherPlaceDoesNotOpen() {
        byte[] frame = codec.seal(compressible(8192, 4), AD);
        assertCorrupt(frame, FrameCodec.associatedData("segments/00000000000000000008.seg", 8192));
        assertCorrupt(frame, FrameCodec.associatedData("segments/00000000000000000007.seg", 8193));
        assertCorrupt(frame, FrameCodec.associatedData("segments/00000000000000000007.seg", 0));
        assertCorrupt(frame, new byte[0]);
    }

    @Test
    void frameFromAnotherKeyDoesNotOpen() {
        byte[] frame = FrameCodec.forKey(OTHER_KEY).seal(compressible(8192, 4), AD);
        IntegrityException e = assertCorrupt(frame, AD);
        assertTrue(e.getMessage().contains("another key"), e.getMessage());
    }

    @Test
    void truncatedOrExtendedFramesDoNotOpen() {
        byte[] frame = codec.seal(compressible(8192, 6), AD);
        for (int len : new int[] {0, 1, 23, 24, 40, FrameCodec.OVERHEAD - 1, FrameCodec.OVERHEAD, frame.length / 2,
                frame.length - 16, frame.length - 1}) {
            assertCorrupt(Arrays.copyOf(frame, len), AD);
        }
        assertCorrupt(Arrays.copyOf(frame, frame.length + 1), AD);
        byte[] empty = codec.seal(new byte[0], AD);
        assertEquals(FrameCodec.OVERHEAD, empty.length);
        assertCorrupt(Arrays.copyOf(empty, empty.length - 1), AD);
    }

    /** Authentic frames (right key and AD) whose payload is wrong: only a bug or a key leak makes these. */
    @Test
    void authenticButMalformedPayloadsAreReportedAsCorrupt() {
        byte[] page = compressible(8192, 8);
        byte[] zstdFrame = com.github.luben.zstd.Zstd.compress(page, 1);
        assertCorrupt(forge(new byte[0]), AD);                                  // no codec byte
        assertCorrupt(forge(new byte[] {2, 1, 2, 3}), AD);                      // unknown codec
        assertCorrupt(forge(new byte[] {(byte) 0xff}), AD);                     // unknown codec
        assertCorrupt(forge(new byte[] {1, 0, 0}), AD);                         // zstd without length
        assertCorrupt(forge(concat(new byte[] {1, 0, 0, 0x20, 0}, random(100, 1))), AD); // not zstd
        assertCorrupt(forge(concat(new byte[] {1, 0, 0, 0x10, 0}, zstdFrame)), AD);    // length too small
        assertCorrupt(forge(concat(new byte[] {1, 0, 0, 0x20, 1}, zstdFrame)), AD);    // length too big
        assertCorrupt(forge(concat(new byte[] {1, (byte) 0x80, 0, 0, 0}, zstdFrame)), AD); // negative length
        assertArrayEquals(page, codec.open(forge(concat(new byte[] {1, 0, 0, 0x20, 0}, zstdFrame)), AD, WHERE));
        assertArrayEquals(page, codec.open(forge(concat(new byte[] {0}, page)), AD, WHERE));
    }

    private static final java.util.concurrent.atomic.AtomicLong FORGED = new java.util.concurrent.atomic.AtomicLong();

    private static byte[] forge(byte[] payload) {
        byte[] nonce = random(24, FORGED.incrementAndGet()); // the JDK refuses a repeated key+nonce
        byte[] ct = new XChaCha20Poly1305(KEY).encrypt(nonce, AD, payload);
        return concat(nonce, ct);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void associatedDataIsUnambiguous() {
        assertNotEquals(Arrays.toString(FrameCodec.associatedData("a", 0x6200000000000000L)),
                Arrays.toString(FrameCodec.associatedData("ab", 0)));
        assertFalse(Arrays.equals(FrameCodec.associatedData("", 0), FrameCodec.associatedData("\0", 0)));
        assertFalse(Arrays.equals(FrameCodec.associatedData("x", 1), FrameCodec.associatedData("x", 1L << 32)));
        assertArrayEquals(FrameCodec.associatedData("é", -1), FrameCodec.associatedData("é", -1));
        assertEquals(4 + 2 + 8, FrameCodec.associatedData("é", 5).length);
    }

    @Test
    void concurrentSealAndOpen() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int seed = t;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < 300; i++) {
                        byte[] p = (i % 2 == 0) ? compressible(8192, seed * 1000L + i) : random(8192, i);
                        byte[] ad = FrameCodec.associatedData("obj" + seed, i);
                        assertArrayEquals(p, codec.open(codec.seal(p, ad), ad, "obj" + seed + " @ " + i));
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private IntegrityException assertCorrupt(byte[] frame, byte[] ad) {
        IntegrityException e = assertThrows(IntegrityException.class, () -> codec.open(frame, ad, WHERE));
        assertTrue(e.getMessage().contains(WHERE), e.getMessage());
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
        return e;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
