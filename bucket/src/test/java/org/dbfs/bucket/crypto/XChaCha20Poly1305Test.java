package org.dbfs.bucket.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.Test;

class XChaCha20Poly1305Test {
    private static final HexFormat HEX = HexFormat.of();

    /** draft-irtf-cfrg-xchacha-03, appendix A.3.1: key 80..9f, nonce 40..57. */
    private static final byte[] A31_PLAINTEXT = ("Ladies and Gentlemen of the class of '99: If I could offer you only"
            + " one tip for the future, sunscreen would be it.").getBytes(StandardCharsets.US_ASCII);
    private static final byte[] A31_AD = HEX.parseHex("50515253c0c1c2c3c4c5c6c7");
    private static final byte[] A31_SEALED = HEX.parseHex(
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
            + "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
            + "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
            + "21f9664c97637da9768812f615c68b13b52e"
            + "c0875924c1c7987947deafd8780acf49");

    private static byte[] range(int from, int count) {
        byte[] b = new byte[count];
        for (int i = 0; i < count; i++) {
            b[i] = (byte) (from + i);
        }
        return b;
    }

    /** draft-irtf-cfrg-xchacha-03, section 2.2.1. */
    @Test
    void hChaCha20KnownAnswer() {
        byte[] key = range(0, 32);
        byte[] input = HEX.parseHex("000000090000004a0000000031415927");
        assertArrayEquals(
                HEX.parseHex("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"),
                XChaCha20Poly1305.hChaCha20(key, input));
    }

    /** draft-irtf-cfrg-xchacha-03, appendix A.3.1 (also what libsodium 1.0.18 produces). */
    @Test
    void aeadKnownAnswer() throws Exception {
        byte[] plaintext = A31_PLAINTEXT;
        byte[] ad = A31_AD;
        byte[] nonce = range(0x40, 24);
        byte[] expected = A31_SEALED;
        XChaCha20Poly1305 aead = new XChaCha20Poly1305(range(0x80, 32));
        assertArrayEquals(expected, aead.encrypt(nonce, ad, plaintext));
        assertArrayEquals(plaintext, aead.decrypt(nonce, ad, expected));
    }

    /** Empty message, empty associated data; generated with libsodium (PyNaCl 1.5.0). */
    @Test
    void emptyMessageKnownAnswer() throws Exception {
        byte[] key = range(0, 32);
        byte[] nonce = range(100, 24);
        byte[] expected = HEX.parseHex("5203f844ae9b45d52e4e8d1ebc2295a8");
        XChaCha20Poly1305 aead = new XChaCha20Poly1305(key);
        assertArrayEquals(expected, aead.encrypt(nonce, new byte[0], new byte[0]));
        assertArrayEquals(new byte[0], aead.decrypt(nonce, new byte[0], expected));
    }

    @Test
    void rejectsTamperedTagAndWrongNonce() {
        XChaCha20Poly1305 aead = new XChaCha20Poly1305(range(7, 32));
        byte[] nonce = range(1, 24);
        byte[] sealed = aead.encrypt(nonce, new byte[0], "hello".getBytes(StandardCharsets.US_ASCII));
        byte[] badTag = sealed.clone();
        badTag[badTag.length - 1] ^= 1;
        assertThrows(AEADBadTagException.class, () -> aead.decrypt(nonce, new byte[0], badTag));
        byte[] otherNonce = nonce.clone();
        otherNonce[3] ^= 1; // in the HChaCha20 half
        assertThrows(AEADBadTagException.class, () -> aead.decrypt(otherNonce, new byte[0], sealed));
        byte[] otherNonce2 = nonce.clone();
        otherNonce2[20] ^= 1; // in the IETF-nonce half
        assertThrows(AEADBadTagException.class, () -> aead.decrypt(otherNonce2, new byte[0], sealed));
    }

    @Test
    void rejectsWrongKeyLength() {
        assertThrows(IllegalArgumentException.class, () -> new XChaCha20Poly1305(new byte[16]));
    }

    /** The draft's vector through the frame path, in both implementations, and each opens the other's. */
    @Test
    void libSodiumAndTheJdkSealTheSameBytes() {
        assertTrue(LibSodium.get().isPresent(), "libsodium23 is installed here (.ci/run installs it); the fast path must be tested");
        byte[] plaintext = A31_PLAINTEXT;
        byte[] ad = A31_AD;
        byte[] key = range(0x80, 32);
        byte[] frameNonce = new byte[3 + 24]; // the nonce at an offset, as in a frame
        System.arraycopy(range(0x40, 24), 0, frameNonce, 3, 24);
        byte[] expected = A31_SEALED;
        XChaCha20Poly1305 sodium = new XChaCha20Poly1305(key, true);
        XChaCha20Poly1305 jdk = new XChaCha20Poly1305(key, false);
        assertTrue(sodium.usesLibSodium());
        assertFalse(jdk.usesLibSodium());
        byte[] buf = new byte[5 + plaintext.length + 16];
        System.arraycopy(plaintext, 0, buf, 5, plaintext.length);
        sodium.sealInPlace(frameNonce, 3, ad, buf, 5, plaintext.length);
        assertArrayEquals(expected, java.util.Arrays.copyOfRange(buf, 5, buf.length));
        for (XChaCha20Poly1305 opener : List.of(sodium, jdk)) {
            byte[] out = new byte[plaintext.length];
            assertTrue(opener.open(frameNonce, 3, ad, buf, 5, buf.length - 5, out));
            assertArrayEquals(plaintext, out);
            buf[20] ^= 1;
            assertFalse(opener.open(frameNonce, 3, ad, buf, 5, buf.length - 5, out), "a flipped bit is refused");
            buf[20] ^= 1;
            assertFalse(opener.open(frameNonce, 3, HEX.parseHex("50"), buf, 5, buf.length - 5, out), "other AD is refused");
        }
        // A page-sized message under a nonce the JDK has not seen on this thread: the same bytes.
        java.util.Random random = new java.util.Random(3);
        byte[] nonce = new byte[24];
        random.nextBytes(nonce);
        byte[] page = new byte[8192 + 16];
        random.nextBytes(page);
        java.util.Arrays.fill(page, 8192, page.length, (byte) 0);
        byte[] bySodium = page.clone();
        sodium.sealInPlace(nonce, 0, ad, bySodium, 0, 8192);
        byte[] byJdk = page.clone();
        jdk.sealInPlace(nonce, 0, ad, byJdk, 0, 8192);
        assertArrayEquals(byJdk, bySodium);
        byte[] empty = new byte[16];
        sodium.sealInPlace(frameNonce, 3, new byte[0], empty, 0, 0);
        assertTrue(jdk.open(frameNonce, 3, new byte[0], empty, 0, 16, new byte[0]));
    }
}
