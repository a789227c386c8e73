package org.dbfs.bucket.crypto;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * Turns a plaintext into a sealed frame and back: compress (zstd) then encrypt
 * (XChaCha20-Poly1305). Every byte DbFS writes outside the process goes through here.
 *
 * <pre>
 * frame:
 *   0                24                                   24 + P               24 + P + 16
 *   +----------------+------------------------------------+--------------------+
 *   | nonce (24)     | ciphertext of the payload (P)      | Poly1305 tag (16)  |
 *   +----------------+------------------------------------+--------------------+
 *
 * payload (encrypted, so the codec and length are authenticated and hidden):
 *   codec 0, raw:   | 0x00 | plaintext (P - 1)                               |
 *   codec 1, zstd:  | 0x01 | plaintext length (u32 BE) | zstd frame (P - 5)  |
 * </pre>
 *
 * <p>The nonce is 24 fresh random bytes per frame. zstd is used only when it makes the frame
 * smaller, so a frame is never longer than {@code plaintext.length + }{@link #OVERHEAD}.
 *
 * <p>The associated data binds a frame to its place (see {@link #associatedData}), so a frame
 * copied to another object or offset fails to open just as a flipped bit does.
 * Thread-safe and lock-free: ciphers, random generators and scratch buffers are per thread,
 * native zstd contexts come from a lock-free pool.
 */
public final class FrameCodec {

    public static final int NONCE_OFFSET = 0;
    public static final int NONCE_BYTES = XChaCha20Poly1305.NONCE_BYTES;
    public static final int CIPHERTEXT_OFFSET = NONCE_OFFSET + NONCE_BYTES;
    public static final int TAG_BYTES = XChaCha20Poly1305.TAG_BYTES;
    /** Payload offsets, relative to the start of the decrypted payload. */
    public static final int PAYLOAD_CODEC_OFFSET = 0;
    public static final int PAYLOAD_DATA_OFFSET_RAW = 1;
    public static final int PAYLOAD_LENGTH_OFFSET_ZSTD = 1;
    public static final int PAYLOAD_DATA_OFFSET_ZSTD = 5;

    /** Bytes a frame adds to its (compressed) payload: nonce, codec byte and tag. */
    public static final int OVERHEAD = 24 + 1 + 16;

    static final byte CODEC_RAW = 0;
    static final byte CODEC_ZSTD = 1;

    /**
     * Level 1, not 3: on synthetic 8 KiB pages (CryptoThroughputTest) level 3 compressed
     * 20-30% slower and was no smaller (text rows: 20.4% vs 19.3% of input), and seal sits on
     * the write path.
     */
    static final int ZSTD_LEVEL = 1;
    /** Below this, zstd's own frame header eats any gain. */
    private static final int MIN_COMPRESS = 32;
    /** Per-thread scratch grows to this and no further; bigger frames use a throwaway buffer. */
    private static final int MAX_RETAINED_SCRATCH = 1 << 20;

    private static final int POOLED_CONTEXTS = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
    private static final ContextPool<ZstdCompressCtx> COMPRESSORS =
            new ContextPool<>(() -> new ZstdCompressCtx().setLevel(ZSTD_LEVEL), POOLED_CONTEXTS);
    private static final ContextPool<ZstdDecompressCtx> DECOMPRESSORS =
            new ContextPool<>(ZstdDecompressCtx::new, POOLED_CONTEXTS);

    /** A DRBG per thread: the default NativePRNG serialises all threads on one lock. */
    private static final ThreadLocal<SecureRandom> RANDOM = ThreadLocal.withInitial(FrameCodec::newRandom);
    private static final ThreadLocal<byte[][]> SCRATCH = ThreadLocal.withInitial(() -> new byte[][] {new byte[0]});

    private final XChaCha20Poly1305 aead;
    /** Input keying material for the keys derived from the bucket key (journal files). */
    private final byte[] derivationKey;

    FrameCodec(byte[] key) {
        this.aead = new XChaCha20Poly1305(key);
        this.derivationKey = key.clone();
    }

    /**
     * The frames of one journal file: AES-256-GCM under a key of its own, HKDF-SHA256 of the bucket
     * key with the file name as info (see {@link GcmFrames} for why not XChaCha20-Poly1305).
     */
    public GcmFrames journalFrames(String fileName) {
        org.bouncycastle.crypto.generators.HKDFBytesGenerator hkdf =
                new org.bouncycastle.crypto.generators.HKDFBytesGenerator(new org.bouncycastle.crypto.digests.SHA256Digest());
        hkdf.init(new org.bouncycastle.crypto.params.HKDFParameters(derivationKey, null,
                ("dbfs journal file " + fileName).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        byte[] key = new byte[32];
        hkdf.generateBytes(key, 0, key.length);
        return new GcmFrames(key);
    }

    /** This codec without compression, as a {@link FrameSealer} (journal files written before AES-GCM). */
    public FrameSealer uncompressed() {
        return new FrameSealer() {
            @Override
            public byte[] seal(byte[] plaintext, byte[] associatedData) {
                return FrameCodec.this.seal(plaintext, associatedData, false);
            }

            @Override
            public byte[] open(byte[] frame, byte[] associatedData, String where) {
                return FrameCodec.this.open(frame, associatedData, where);
            }
        };
    }

    /** A codec for a raw 32-byte key, for tests and benchmarks; DbFS gets its codec from {@link BucketKeys}. */
    public static FrameCodec forKey(byte[] key) {
        return new FrameCodec(key);
    }

    public byte[] seal(byte[] plaintext, byte[] associatedData) {
        return seal(plaintext, associatedData, true);
    }

    /**
     * @param compress try zstd (kept only if smaller); false for data that is written once and soon
     *                 dropped, such as journal records, whose pages are compressed when packed
     */
    public byte[] seal(byte[] plaintext, byte[] associatedData, boolean compress) {
        int n = plaintext.length;
        byte[] compressed = null;
        int compressedLen = Integer.MAX_VALUE;
        long bound = Zstd.compressBound(n);
        if (compress && n >= MIN_COMPRESS && bound <= Integer.MAX_VALUE - 64) {
            compressed = scratch((int) bound);
            ZstdCompressCtx ctx = COMPRESSORS.take();
            try {
                compressedLen = ctx.compressByteArray(compressed, 0, (int) bound, plaintext, 0, n);
            } finally {
                COMPRESSORS.give(ctx);
            }
        }
        boolean zstd = (long) PAYLOAD_DATA_OFFSET_ZSTD + compressedLen < PAYLOAD_DATA_OFFSET_RAW + (long) n;
        int headerLen = zstd ? PAYLOAD_DATA_OFFSET_ZSTD : PAYLOAD_DATA_OFFSET_RAW;
        byte[] body = zstd ? compressed : plaintext;
        int bodyLen = zstd ? compressedLen : n;
        if ((long) CIPHERTEXT_OFFSET + headerLen + bodyLen + TAG_BYTES > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("plaintext of " + n + " bytes is too large for one frame");
        }

        byte[] frame = new byte[CIPHERTEXT_OFFSET + headerLen + bodyLen + TAG_BYTES];
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.get().nextBytes(nonce);
        System.arraycopy(nonce, 0, frame, NONCE_OFFSET, NONCE_BYTES);

        frame[CIPHERTEXT_OFFSET + PAYLOAD_CODEC_OFFSET] = zstd ? CODEC_ZSTD : CODEC_RAW;
        if (zstd) {
            putBe32(frame, CIPHERTEXT_OFFSET + PAYLOAD_LENGTH_OFFSET_ZSTD, n);
        }
        System.arraycopy(body, 0, frame, CIPHERTEXT_OFFSET + headerLen, bodyLen);
        aead.sealInPlace(frame, NONCE_OFFSET, associatedData, frame, CIPHERTEXT_OFFSET, headerLen + bodyLen);
        return frame;
    }

    /** @throws IntegrityException naming {@code where} if the frame is not authentic */
    public byte[] open(byte[] frame, byte[] associatedData, String where) {
        if (frame.length < OVERHEAD) {
            throw corrupt(where, "it is " + frame.length + " bytes long, shorter than the smallest frame ("
                    + OVERHEAD + " bytes)", null);
        }
        int payloadLen = frame.length - CIPHERTEXT_OFFSET - TAG_BYTES;
        byte[] payload = scratch(payloadLen);
        if (!aead.open(frame, NONCE_OFFSET, associatedData, frame, CIPHERTEXT_OFFSET, frame.length - CIPHERTEXT_OFFSET, payload)) {
            throw corrupt(where, "its authentication tag does not match", null);
        }
        return switch (payload[PAYLOAD_CODEC_OFFSET]) {
            case CODEC_RAW -> Arrays.copyOfRange(payload, PAYLOAD_DATA_OFFSET_RAW, payloadLen);
            case CODEC_ZSTD -> decompress(payload, payloadLen, where);
            default -> throw corrupt(where, "unknown codec byte " + (payload[PAYLOAD_CODEC_OFFSET] & 0xff), null);
        };
    }

    private static byte[] decompress(byte[] payload, int payloadLen, String where) {
        if (payloadLen < PAYLOAD_DATA_OFFSET_ZSTD) {
            throw corrupt(where, "its zstd payload has no length field", null);
        }
        int n = be32(payload, PAYLOAD_LENGTH_OFFSET_ZSTD);
        if (n < 0 || n > Integer.MAX_VALUE - 8) {
            throw corrupt(where, "its uncompressed length " + Integer.toUnsignedString(n) + " is impossible", null);
        }
        byte[] out = new byte[n];
        int got;
        ZstdDecompressCtx ctx = DECOMPRESSORS.take();
        try {
            got = ctx.decompressByteArray(out, 0, n, payload, PAYLOAD_DATA_OFFSET_ZSTD, payloadLen - PAYLOAD_DATA_OFFSET_ZSTD);
        } catch (RuntimeException e) {
            throw corrupt(where, "zstd could not decompress it (" + e.getMessage() + ")", e);
        } finally {
            DECOMPRESSORS.give(ctx);
        }
        if (got != n) {
            throw corrupt(where, "it decompressed to " + got + " bytes, not the recorded " + n, null);
        }
        return out;
    }

    /**
     * Associated data for the frame at {@code position} of object (or local file) {@code name}:
     * {@code u32 BE length of name in UTF-8 || name in UTF-8 || u64 BE position}. The length
     * prefix makes the split between name and position unambiguous.
     */
    public static byte[] associatedData(String name, long position) {
        byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
        byte[] ad = new byte[4 + utf8.length + 8];
        putBe32(ad, 0, utf8.length);
        System.arraycopy(utf8, 0, ad, 4, utf8.length);
        for (int i = 0; i < 8; i++) {
            ad[4 + utf8.length + i] = (byte) (position >>> (56 - 8 * i));
        }
        return ad;
    }

    private static IntegrityException corrupt(String where, String detail, Throwable cause) {
        String message = "cannot open the frame at " + where + ": " + detail
                + ". The object is corrupt (damaged, truncated or moved) or was written with another key.";
        return cause == null ? new IntegrityException(message) : new IntegrityException(message, cause);
    }

    private static byte[] scratch(int size) {
        if (size > MAX_RETAINED_SCRATCH) {
            return new byte[size];
        }
        byte[][] holder = SCRATCH.get();
        if (holder[0].length < size) {
            holder[0] = new byte[Math.min(MAX_RETAINED_SCRATCH, Math.max(size, 2 * holder[0].length))];
        }
        return holder[0];
    }

    /** Fills {@code nonce} from this thread's DRBG (shared by every frame format of the package). */
    static void randomNonce(byte[] nonce) {
        RANDOM.get().nextBytes(nonce);
    }

    private static SecureRandom newRandom() {
        try {
            return SecureRandom.getInstance("DRBG");
        } catch (NoSuchAlgorithmException e) {
            return new SecureRandom();
        }
    }

    private static int be32(byte[] b, int i) {
        return (b[i] & 0xff) << 24 | (b[i + 1] & 0xff) << 16 | (b[i + 2] & 0xff) << 8 | (b[i + 3] & 0xff);
    }

    private static void putBe32(byte[] b, int i, int v) {
        b[i] = (byte) (v >>> 24);
        b[i + 1] = (byte) (v >>> 16);
        b[i + 2] = (byte) (v >>> 8);
        b[i + 3] = (byte) v;
    }
}
