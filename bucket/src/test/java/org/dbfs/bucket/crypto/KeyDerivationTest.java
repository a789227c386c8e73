package org.dbfs.bucket.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Vectors from libsodium's crypto_pwhash (ALG_ARGON2ID13), via PyNaCl 1.5.0. */
class KeyDerivationTest {
    private static byte[] range(int from, int count) {
        byte[] b = new byte[count];
        for (int i = 0; i < count; i++) {
            b[i] = (byte) (from + i);
        }
        return b;
    }

    @Test
    void defaultCostMatchesLibsodium() {
        assertArrayEquals(
                HexFormat.of().parseHex("818259b6310026a8e0dbac5d2e6927abcfdb07b32258fac4f61b18b80f929085"),
                KeyDerivation.argon2id("correct horse battery staple".toCharArray(), range(0, 16), KeyDerivation.Cost.DEFAULT));
    }

    @Test
    void nonAsciiPassphraseIsUtf8() {
        assertArrayEquals(
                HexFormat.of().parseHex("419cd823111ef6694855f1dba9faed5c2f4c5e84beca08f188fcc9db22c2b927"),
                KeyDerivation.argon2id("pässwörd".toCharArray(), range(16, 16), new KeyDerivation.Cost(64, 1, 1)));
    }

    @Test
    void saltsAreFreshAndCostIsValidated() {
        assertEquals(16, KeyDerivation.newSalt().length);
        assertThrows(IllegalArgumentException.class, () -> new KeyDerivation.Cost(4, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new KeyDerivation.Cost(19456, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new KeyDerivation.Cost(19456, 1, 0));
    }
}
