package org.dbfs.bucket.crypto;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/** Passphrase to bucket key: Argon2id (RFC 9106, version 0x13) with a 16-byte random salt. */
public final class KeyDerivation {
    public static final int KEY_BYTES = 32;
    public static final int SALT_BYTES = 16;

    private KeyDerivation() {}

    /**
     * Argon2id cost. Stored next to the salt in the bucket's key object, so the default can rise
     * later without locking out existing buckets.
     *
     * @param memoryKiB   memory in KiB (Argon2 "m")
     * @param iterations  passes over memory (Argon2 "t")
     * @param parallelism lanes (Argon2 "p")
     */
    public record Cost(int memoryKiB, int iterations, int parallelism) {
        /** OWASP's minimum recommendation for Argon2id: 19 MiB, 2 passes, 1 lane. */
        public static final Cost DEFAULT = new Cost(19456, 2, 1);

        /** Upper limits only guard against a damaged key object making a start hang or run out of memory. */
        static final int MAX_MEMORY_KIB = 4 * 1024 * 1024;
        static final int MAX_ITERATIONS = 1000;
        static final int MAX_PARALLELISM = 255;

        public Cost {
            if (parallelism < 1 || parallelism > MAX_PARALLELISM) {
                throw new IllegalArgumentException("Argon2id parallelism must be 1.." + MAX_PARALLELISM + ", not " + parallelism);
            }
            if (iterations < 1 || iterations > MAX_ITERATIONS) {
                throw new IllegalArgumentException("Argon2id iterations must be 1.." + MAX_ITERATIONS + ", not " + iterations);
            }
            if (memoryKiB < 8 * parallelism || memoryKiB > MAX_MEMORY_KIB) {
                throw new IllegalArgumentException("Argon2id memory must be " + 8 * parallelism + ".." + MAX_MEMORY_KIB
                        + " KiB, not " + memoryKiB);
            }
        }
    }

    public static byte[] newSalt() {
        byte[] salt = new byte[SALT_BYTES];
        new SecureRandom().nextBytes(salt);
        return salt;
    }

    /** The 32-byte key; the passphrase is taken as UTF-8. */
    public static byte[] argon2id(char[] passphrase, byte[] salt, Cost cost) {
        Argon2Parameters params = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13)
                .withSalt(salt)
                .withMemoryAsKB(cost.memoryKiB())
                .withIterations(cost.iterations())
                .withParallelism(cost.parallelism())
                .build();
        Argon2BytesGenerator generator = new Argon2BytesGenerator();
        generator.init(params);
        byte[] key = new byte[KEY_BYTES];
        byte[] utf8 = utf8(passphrase);
        try {
            generator.generateBytes(utf8, key);
        } finally {
            Arrays.fill(utf8, (byte) 0);
        }
        return key;
    }

    /** UTF-8 without a String, so the passphrase bytes can be wiped afterwards. */
    private static byte[] utf8(char[] passphrase) {
        ByteBuffer encoded;
        try {
            encoded = StandardCharsets.UTF_8.newEncoder().encode(CharBuffer.wrap(passphrase));
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the passphrase is not valid Unicode (unpaired surrogate)", e);
        }
        byte[] bytes = new byte[encoded.remaining()];
        encoded.get(bytes);
        Arrays.fill(encoded.array(), (byte) 0);
        return bytes;
    }
}
