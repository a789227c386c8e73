package org.dbfs.bucket.crypto;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03): the IETF ChaCha20-Poly1305 AEAD keyed with
 * {@code HChaCha20(key, nonce[0..16])} and run with the nonce {@code 0x00000000 || nonce[16..24]}.
 *
 * <p>The 24-byte nonce is what makes random nonces safe: at 2^-96 per pair, billions of frames
 * under one bucket key never collide, where the 12-byte IETF nonce would. Frames are sealed and
 * opened by libsodium when the machine has it ({@link LibSodium}), else by the JDK's
 * ChaCha20-Poly1305 with the subkey step done here; both give the same bytes.
 *
 * <p>Thread-safe: each thread has its own {@link Cipher}. The JDK refuses to encrypt twice in a
 * row on one thread with the same key and nonce, so a (caller bug) nonce reuse fails loudly.
 */
public final class XChaCha20Poly1305 {
    public static final int KEY_BYTES = 32;
    public static final int NONCE_BYTES = 24;
    public static final int TAG_BYTES = 16;

    private static final ThreadLocal<Cipher> CIPHER = ThreadLocal.withInitial(() -> {
        try {
            return Cipher.getInstance("ChaCha20-Poly1305");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no ChaCha20-Poly1305 cipher", e);
        }
    });

    /** "expand 32-byte k", the ChaCha constants. */
    private static final int C0 = 0x61707865, C1 = 0x3320646e, C2 = 0x79622d32, C3 = 0x6b206574;

    private final int[] keyWords;
    private final byte[] key;
    private final LibSodium sodium;

    public XChaCha20Poly1305(byte[] key) {
        this(key, true);
    }

    /** @param libSodium seal and open frames with libsodium if the machine has it (tests compare both ways) */
    XChaCha20Poly1305(byte[] key, boolean libSodium) {
        if (key.length != KEY_BYTES) {
            throw new IllegalArgumentException("XChaCha20-Poly1305 key must be 32 bytes, not " + key.length);
        }
        this.key = key.clone();
        this.sodium = libSodium ? LibSodium.get().orElse(null) : null;
        keyWords = new int[8];
        for (int i = 0; i < 8; i++) {
            keyWords[i] = le32(key, 4 * i);
        }
    }

    /** {@code ciphertext || tag} of {@code plaintext}. */
    public byte[] encrypt(byte[] nonce, byte[] associatedData, byte[] plaintext) {
        Cipher c = init(Cipher.ENCRYPT_MODE, nonce, 0, associatedData);
        try {
            return c.doFinal(plaintext);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 encryption failed", e);
        }
    }

    /** @throws AEADBadTagException if the ciphertext, tag, nonce, key or associated data differ */
    public byte[] decrypt(byte[] nonce, byte[] associatedData, byte[] ciphertextAndTag) throws AEADBadTagException {
        Cipher c = init(Cipher.DECRYPT_MODE, nonce, 0, associatedData);
        try {
            return c.doFinal(ciphertextAndTag);
        } catch (AEADBadTagException e) {
            throw e;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 decryption failed", e);
        }
    }

    /**
     * Encrypts {@code buf[off, off + len)} in place and writes the tag into the 16 bytes after it,
     * under the 24-byte nonce at {@code nonce[nonceOffset..]}.
     */
    void sealInPlace(byte[] nonce, int nonceOffset, byte[] associatedData, byte[] buf, int off, int len) {
        if (sodium != null) {
            sodium.sealInPlace(key, nonce, nonceOffset, associatedData, buf, off, len);
            return;
        }
        Cipher c = init(Cipher.ENCRYPT_MODE, nonce, nonceOffset, associatedData);
        try {
            c.doFinal(buf, off, len, buf, off);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 encryption failed", e);
        }
    }

    /**
     * Authenticates {@code in[off, off + len)} (ciphertext then tag) and decrypts it into
     * {@code out[0, len - 16)}. @return false if it is not authentic
     */
    boolean open(byte[] nonce, int nonceOffset, byte[] associatedData, byte[] in, int off, int len, byte[] out) {
        if (len < TAG_BYTES) {
            return false;
        }
        if (sodium != null) {
            return sodium.open(key, nonce, nonceOffset, associatedData, in, off, len, out);
        }
        Cipher c = init(Cipher.DECRYPT_MODE, nonce, nonceOffset, associatedData);
        try {
            c.doFinal(in, off, len, out, 0);
            return true;
        } catch (AEADBadTagException e) {
            return false;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 decryption failed", e);
        }
    }

    /** Whether frames go through libsodium (else the JDK). */
    boolean usesLibSodium() {
        return sodium != null;
    }

    /**
     * This thread's cipher, initialised for one message under the 24-byte nonce at
     * {@code nonce[nonceOffset..]} with the associated data already fed in. The caller streams
     * the message through it (update/doFinal) before using this class again on this thread.
     */
    Cipher init(int mode, byte[] nonce, int nonceOffset, byte[] associatedData) {
        if (nonce.length - nonceOffset < NONCE_BYTES) {
            throw new IllegalArgumentException("XChaCha20 nonce must be 24 bytes");
        }
        byte[] subkey = new byte[KEY_BYTES];
        hChaCha20(keyWords, nonce, nonceOffset, subkey);
        byte[] ietfNonce = new byte[12];
        System.arraycopy(nonce, nonceOffset + 16, ietfNonce, 4, 8);
        Cipher c = CIPHER.get();
        try {
            c.init(mode, new SecretKeySpec(subkey, "ChaCha20"), new IvParameterSpec(ietfNonce));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 init failed (nonce reused?)", e);
        } finally {
            Arrays.fill(subkey, (byte) 0);
        }
        c.updateAAD(associatedData);
        return c;
    }

    /** HChaCha20 of a 32-byte key and 16-byte input: the 32-byte subkey. */
    static byte[] hChaCha20(byte[] key, byte[] input16) {
        if (key.length != KEY_BYTES || input16.length != 16) {
            throw new IllegalArgumentException("HChaCha20 takes a 32-byte key and a 16-byte input");
        }
        int[] k = new int[8];
        for (int i = 0; i < 8; i++) {
            k[i] = le32(key, 4 * i);
        }
        byte[] out = new byte[32];
        hChaCha20(k, input16, 0, out);
        return out;
    }

    private static void hChaCha20(int[] k, byte[] in, int off, byte[] out) {
        int x0 = C0, x1 = C1, x2 = C2, x3 = C3;
        int x4 = k[0], x5 = k[1], x6 = k[2], x7 = k[3], x8 = k[4], x9 = k[5], x10 = k[6], x11 = k[7];
        int x12 = le32(in, off), x13 = le32(in, off + 4), x14 = le32(in, off + 8), x15 = le32(in, off + 12);
        for (int round = 0; round < 20; round += 2) {
            // column round
            x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 16); x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 12);
            x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 8); x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 7);
            x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 16); x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 12);
            x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 8); x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 7);
            x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 16); x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 12);
            x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 8); x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 7);
            x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 16); x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 12);
            x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 8); x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 7);
            // diagonal round
            x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 16); x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 12);
            x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 8); x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 7);
            x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 16); x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 12);
            x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 8); x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 7);
            x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 16); x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 12);
            x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 8); x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 7);
            x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 16); x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 12);
            x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 8); x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 7);
        }
        // HChaCha20 is defined without the ChaCha20 block function's final "add the input
        // back", and keeps the words that started out as the public constants and input.
        putLe32(out, 0, x0);
        putLe32(out, 4, x1);
        putLe32(out, 8, x2);
        putLe32(out, 12, x3);
        putLe32(out, 16, x12);
        putLe32(out, 20, x13);
        putLe32(out, 24, x14);
        putLe32(out, 28, x15);
    }

    private static int le32(byte[] b, int i) {
        return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | (b[i + 3] & 0xff) << 24;
    }

    private static void putLe32(byte[] b, int i, int v) {
        b[i] = (byte) v;
        b[i + 1] = (byte) (v >>> 8);
        b[i + 2] = (byte) (v >>> 16);
        b[i + 3] = (byte) (v >>> 24);
    }
}
