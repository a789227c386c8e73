package org.dbfs.bucket.crypto;

import java.util.Arrays;
import java.util.Optional;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStoreException;
import org.dbfs.bucket.objectstore.PreconditionFailedException;

/**
 * The bucket's key parameters, kept in the plaintext object {@value #OBJECT_NAME}: Argon2id salt
 * and cost, and a key check (a sealed known text) that tells a wrong passphrase apart from
 * corruption before anything is read or written. The format is described in {@link KeyObject}.
 */
public final class BucketKeys {
    public static final String OBJECT_NAME = org.dbfs.bucket.BucketLayout.KEY;

    private BucketKeys() {}

    /**
     * Derives the bucket key from the passphrase. If the bucket has no key object yet, creates one
     * (create-if-absent, so two first starts agree on one salt).
     *
     * @throws WrongPassphraseException if the passphrase does not match; nothing is written then
     * @throws UnreadableKeyObjectException if the key object is damaged or of a newer format
     * @throws IllegalArgumentException if the passphrase is empty
     */
    public static FrameCodec openOrCreate(ObjectStore store, char[] passphrase) {
        return openOrCreate(store, passphrase, KeyDerivation.Cost.DEFAULT);
    }

    /** As {@link #openOrCreate(ObjectStore, char[])}; {@code costIfNew} applies only to a new bucket. */
    public static FrameCodec openOrCreate(ObjectStore store, char[] passphrase, KeyDerivation.Cost costIfNew) {
        if (passphrase == null || passphrase.length == 0) {
            throw new IllegalArgumentException("the passphrase is empty. Give a non-empty passphrase"
                    + " (--passphrase-file FILE or DBFS_PASSPHRASE).");
        }
        Optional<ObjectStore.VersionedObject> existing = store.getVersioned(OBJECT_NAME);
        if (existing.isPresent()) {
            return open(store, existing.get().data(), passphrase);
        }

        byte[] salt = KeyDerivation.newSalt();
        byte[] key = KeyDerivation.argon2id(passphrase, salt, costIfNew);
        try {
            FrameCodec codec = new FrameCodec(key);
            byte[] check = codec.seal(KeyObject.CHECK_TEXT, KeyObject.checkAssociatedData());
            try {
                store.putIfAbsent(OBJECT_NAME, new KeyObject(costIfNew, salt, check).encode());
                return codec;
            } catch (PreconditionFailedException raced) {
                // Another process created the bucket first; its salt is the bucket's salt now.
                return open(store, store.get(OBJECT_NAME), passphrase);
            }
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    /**
     * As {@link #openOrCreate(ObjectStore, char[])}, but for readers that must not create a bucket:
     * a bucket without a key object is an error (not a DbFS bucket, or a wrong URL).
     *
     * @throws ObjectStoreException if the bucket has no key object; nothing is written
     */
    public static FrameCodec openExisting(ObjectStore store, char[] passphrase) {
        if (passphrase == null || passphrase.length == 0) {
            throw new IllegalArgumentException("the passphrase is empty. Give a non-empty passphrase"
                    + " (--passphrase-file FILE or DBFS_PASSPHRASE).");
        }
        return open(store, store.getVersioned(OBJECT_NAME).orElseThrow(() -> new ObjectStoreException("bucket "
                + store.describe() + " has no " + OBJECT_NAME + " object: it is not a DbFS bucket, or the URL is wrong."
                + " Nothing was created.")).data(), passphrase);
    }

    private static FrameCodec open(ObjectStore store, byte[] keyObject, char[] passphrase) {
        KeyObject parsed = KeyObject.decode(keyObject, store.describe());
        byte[] key = KeyDerivation.argon2id(passphrase, parsed.salt(), parsed.cost());
        try {
            FrameCodec codec = new FrameCodec(key);
            byte[] text;
            try {
                text = codec.open(parsed.check(), KeyObject.checkAssociatedData(), OBJECT_NAME + " check");
            } catch (IntegrityException e) {
                throw new WrongPassphraseException("wrong passphrase for bucket " + store.describe()
                        + ": it does not open the key check in object " + OBJECT_NAME + ". Nothing was changed."
                        + " Give the passphrase the bucket was created with (--passphrase-file FILE or DBFS_PASSPHRASE)."
                        + (parsed.checksummed() ? "" : " If that is the one, the key object is corrupt (its salt, cost"
                                + " or check; a format " + parsed.format() + " key object has no checksum to tell):"
                                + " restore it from a copy of the bucket."));
            }
            if (!Arrays.equals(text, KeyObject.CHECK_TEXT)) {
                // Authentic under this key yet not our text: not something DbFS wrote.
                throw new UnreadableKeyObjectException("the key object " + OBJECT_NAME + " in bucket " + store.describe()
                        + " is corrupt or from a newer DbFS version: its key check holds an unknown text."
                        + " Nothing was changed.");
            }
            return codec;
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }
}
