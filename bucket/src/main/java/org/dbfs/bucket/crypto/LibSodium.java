package org.dbfs.bucket.crypto;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libsodium's XChaCha20-Poly1305 (IETF), through the FFM API. Why: on CPUs without AVX-512 the
 * JDK's Poly1305 is plain Java; sealing an 8 KB page took 16-29 µs here against ~7 µs in libsodium,
 * and the packer seals every page it writes to a segment. The output is the same construction
 * byte for byte (XChaCha20Poly1305Test checks both against the draft's vectors and each other).
 *
 * <p>Calls are critical downcalls on heap arrays: no copy in or out, and no safepoint for the few
 * microseconds one takes.
 */
final class LibSodium {
    private static final Logger log = LoggerFactory.getLogger(LibSodium.class);
    private static final String LIBRARY = "libsodium.so.23";
    private static final Optional<LibSodium> INSTANCE = load();

    private final MethodHandle encryptDetached;
    private final MethodHandle decryptDetached;

    private LibSodium(MethodHandle encryptDetached, MethodHandle decryptDetached) {
        this.encryptDetached = encryptDetached;
        this.decryptDetached = decryptDetached;
    }

    /** libsodium if this machine has it (Debian: libsodium23), else empty. */
    static Optional<LibSodium> get() {
        return INSTANCE;
    }

    private static Optional<LibSodium> load() {
        if (Boolean.getBoolean("dbfs.crypto.jdkOnly")) {
            return Optional.empty();
        }
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
            MethodHandle init = linker.downcallHandle(lib.find("sodium_init").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT));
            if ((int) init.invokeExact() < 0) {
                log.warn("{}: sodium_init failed; sealing with the JDK's ChaCha20-Poly1305", LIBRARY);
                return Optional.empty();
            }
            ValueLayout a = ValueLayout.ADDRESS;
            ValueLayout n = ValueLayout.JAVA_LONG;
            // int ..._encrypt_detached(c, mac, *maclen_p, m, mlen, ad, adlen, nsec, npub, k)
            MethodHandle enc = linker.downcallHandle(
                    lib.find("crypto_aead_xchacha20poly1305_ietf_encrypt_detached").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, a, a, a, a, n, a, n, a, a, a),
                    Linker.Option.critical(true));
            // int ..._decrypt_detached(m, nsec, c, clen, mac, ad, adlen, npub, k)
            MethodHandle dec = linker.downcallHandle(
                    lib.find("crypto_aead_xchacha20poly1305_ietf_decrypt_detached").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, a, a, a, n, a, a, n, a, a),
                    Linker.Option.critical(true));
            return Optional.of(new LibSodium(enc, dec));
        } catch (Throwable t) {
            log.warn("{} not usable ({}); sealing with the JDK's ChaCha20-Poly1305, about 3x slower here."
                    + " Install libsodium23 for the faster path.", LIBRARY, t.toString());
            return Optional.empty();
        }
    }

    /** Encrypts {@code buf[off, off + len)} in place and writes the 16-byte tag right after it. */
    void sealInPlace(byte[] key, byte[] nonce, int nonceOffset, byte[] ad, byte[] buf, int off, int len) {
        MemorySegment b = MemorySegment.ofArray(buf);
        int rc;
        try {
            rc = (int) encryptDetached.invokeExact(b.asSlice(off, len), b.asSlice(off + len, XChaCha20Poly1305.TAG_BYTES),
                    MemorySegment.NULL, b.asSlice(off, len), (long) len, MemorySegment.ofArray(ad), (long) ad.length,
                    MemorySegment.NULL, MemorySegment.ofArray(nonce).asSlice(nonceOffset, XChaCha20Poly1305.NONCE_BYTES),
                    MemorySegment.ofArray(key));
        } catch (Throwable t) {
            throw new IllegalStateException("libsodium encryption failed", t);
        }
        if (rc != 0) {
            throw new IllegalStateException("libsodium encryption returned " + rc);
        }
    }

    /**
     * Authenticates and decrypts {@code in[off, off + len)} (ciphertext, then the tag) into
     * {@code out[0, len - 16)}. @return false if the tag does not match (out is then undefined)
     */
    boolean open(byte[] key, byte[] nonce, int nonceOffset, byte[] ad, byte[] in, int off, int len, byte[] out) {
        int clen = len - XChaCha20Poly1305.TAG_BYTES;
        MemorySegment c = MemorySegment.ofArray(in);
        try {
            return (int) decryptDetached.invokeExact(MemorySegment.ofArray(out).asSlice(0, clen), MemorySegment.NULL,
                    c.asSlice(off, clen), (long) clen, c.asSlice(off + clen, XChaCha20Poly1305.TAG_BYTES),
                    MemorySegment.ofArray(ad), (long) ad.length,
                    MemorySegment.ofArray(nonce).asSlice(nonceOffset, XChaCha20Poly1305.NONCE_BYTES),
                    MemorySegment.ofArray(key)) == 0;
        } catch (Throwable t) {
            throw new IllegalStateException("libsodium decryption failed", t);
        }
    }
}
