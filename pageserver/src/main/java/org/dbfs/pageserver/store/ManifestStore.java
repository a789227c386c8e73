package org.dbfs.pageserver.store;

import com.google.protobuf.InvalidProtocolBufferException;
import java.util.Optional;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.PreconditionFailedException;
import org.dbfs.pageserver.format.Manifest;

/**
 * The manifest object: which segments and which namespace snapshot make up the bucket's state.
 * It only moves forward by compare-and-swap on its ETag, so two writers can never both think they
 * extended the same state.
 *
 * <p>Not thread-safe; the packer is its only writer.
 */
public final class ManifestStore {
    public static final String OBJECT_NAME = BucketLayout.MANIFEST;
    public static final int FORMAT_VERSION = 1;

    private final ObjectStore store;
    private final FrameCodec codec;
    private String etag; // null until a manifest exists

    public ManifestStore(ObjectStore store, FrameCodec codec) {
        this.store = store;
        this.codec = codec;
    }

    public Optional<Manifest> load() {
        Optional<ObjectStore.VersionedObject> current = store.getVersioned(OBJECT_NAME);
        if (current.isEmpty()) {
            etag = null;
            return Optional.empty();
        }
        String object = "object " + OBJECT_NAME + " in " + store.describe();
        byte[] plain = codec.open(current.get().data(), FrameCodec.associatedData(OBJECT_NAME, 0), object);
        Manifest m;
        try {
            m = Manifest.parseFrom(plain);
        } catch (InvalidProtocolBufferException e) {
            throw new IntegrityException(object + " is corrupt: it authenticates but does not parse", e);
        }
        if (m.getFormatVersion() > FORMAT_VERSION) {
            throw new IllegalStateException("the manifest in " + store.describe() + " has format version "
                    + m.getFormatVersion() + "; this page server reads up to " + FORMAT_VERSION + ". Upgrade it.");
        }
        etag = current.get().etag();
        return Optional.of(m);
    }

    /**
     * Replaces the manifest loaded or written last by {@code next}.
     *
     * @throws ManifestConflictException if someone else changed it in between
     */
    public void commit(Manifest next) {
        byte[] sealed = codec.seal(next.toByteArray(), FrameCodec.associatedData(OBJECT_NAME, 0));
        try {
            etag = etag == null ? store.putIfAbsent(OBJECT_NAME, sealed) : store.putIfMatch(OBJECT_NAME, sealed, etag);
        } catch (PreconditionFailedException e) {
            throw new ManifestConflictException("the manifest in " + store.describe()
                    + " changed under this page server (generation " + next.getGeneration()
                    + " lost a compare-and-swap): another page server is writing to the same bucket."
                    + " Stop one of them; this one keeps its journal and will not pack further.", e);
        }
    }

    public static final class ManifestConflictException extends RuntimeException {
        ManifestConflictException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
