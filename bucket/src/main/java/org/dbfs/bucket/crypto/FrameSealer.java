package org.dbfs.bucket.crypto;

/** Seals and opens frames under one key and one frame format; a failed open is an {@link IntegrityException} naming where. */
public interface FrameSealer {
    byte[] seal(byte[] plaintext, byte[] associatedData);

    byte[] open(byte[] frame, byte[] associatedData, String where);
}
