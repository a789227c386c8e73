package org.dbfs.pageserver.crypto;

import org.dbfs.pageserver.objectstore.ObjectStore;

/**
 * The bucket's key parameters, kept in the plaintext object {@value #OBJECT_NAME}: Argon2id salt
 * and cost, and a key check (a sealed known text) that tells a wrong passphrase apart from
 * corruption before anything is read or written.
 */
public final class BucketKeys {
    public static final String OBJECT_NAME = "dbfs-key";

    private BucketKeys() {}

    /**
     * Derives the bucket key from the passphrase. If the bucket has no key object yet, creates one
     * (create-if-absent, so two first starts agree on one salt).
     *
     * @throws WrongPassphraseException if the passphrase does not match; nothing is written then
     */
    public static FrameCodec openOrCreate(ObjectStore store, char[] passphrase) {
        throw new UnsupportedOperationException("TODO");
    }
}
