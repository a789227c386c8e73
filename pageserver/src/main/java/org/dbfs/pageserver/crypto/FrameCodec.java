package org.dbfs.pageserver.crypto;

/**
 * Turns a plaintext into a sealed frame and back: compress (zstd) then encrypt
 * (XChaCha20-Poly1305). Every byte DbFS writes outside the process goes through here.
 *
 * <p>The associated data binds a frame to its place (see {@link #associatedData}), so a frame
 * copied to another object or offset fails to open just as a flipped bit does.
 * Thread-safe.
 */
public final class FrameCodec {

    /** Bytes a frame adds to its (compressed) payload: nonce, codec byte and tag. */
    public static final int OVERHEAD = 24 + 1 + 16;

    public byte[] seal(byte[] plaintext, byte[] associatedData) {
        throw new UnsupportedOperationException("TODO");
    }

    /** @throws IntegrityException naming {@code where} if the frame is not authentic */
    public byte[] open(byte[] frame, byte[] associatedData, String where) {
        throw new UnsupportedOperationException("TODO");
    }

    /** Associated data for the frame at {@code position} of object (or local file) {@code name}. */
    public static byte[] associatedData(String name, long position) {
        throw new UnsupportedOperationException("TODO");
    }
}
