package org.dbfs.pageserver.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.Test;

class XChaCha20Poly1305Test {
    private static final HexFormat HEX = HexFormat.of();

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
        byte[] plaintext = ("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the"
                + " future, sunscreen would be it.").getBytes(StandardCharsets.US_ASCII);
        byte[] ad = HEX.parseHex("50515253c0c1c2c3c4c5c6c7");
        byte[] key = range(0x80, 32);
        byte[] nonce = range(0x40, 24);
        byte[] expected = HEX.parseHex(
                "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
                + "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
                + "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
                + "21f9664c97637da9768812f615c68b13b52e"
                + "c0875924c1c7987947deafd8780acf49");
        XChaCha20Poly1305 aead = new XChaCha20Poly1305(key);
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
}
