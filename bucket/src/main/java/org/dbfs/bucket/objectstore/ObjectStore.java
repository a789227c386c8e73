package org.dbfs.bucket.objectstore;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A bucket of immutable objects with conditional writes: the only shared state DbFS has.
 *
 * <p>Keys are '/'-separated relative names ("segments/00000000000000000001.seg"). Implementations
 * are thread-safe. Conditional writes have the same semantics everywhere: {@link #putIfAbsent}
 * succeeds for exactly one of several racing writers, {@link #putIfMatch} only while the object
 * still carries the given ETag; losers get {@link PreconditionFailedException} and change nothing.
 *
 * <p>Failures to reach the store surface as {@link ObjectStoreUnavailableException} with a message
 * that names the bucket and what to check; a missing object as {@link ObjectNotFoundException}.
 */
public interface ObjectStore extends AutoCloseable {

    /** The bucket URL this store was opened with, for messages. */
    String describe();

    /** Fails with {@link ObjectStoreUnavailableException} if the bucket cannot be reached or used. */
    void checkReachable();

    /**
     * Like {@link #checkReachable()}, for a reader that never writes (walservice restore, run by
     * PostgreSQL as its own user): reading is all it needs.
     */
    default void checkReadable() {
        checkReachable();
    }

    byte[] get(String key);

    /** Bytes [offset, offset + length) of the object; shorter only if the object ends first. */
    byte[] getRange(String key, long offset, int length);

    /** The object with the ETag it has now, or empty if absent. */
    Optional<VersionedObject> getVersioned(String key);

    Optional<ObjectInfo> stat(String key);

    /** Unconditional write; returns the new ETag. */
    String put(String key, byte[] data);

    /** Create-if-absent; returns the new ETag. */
    String putIfAbsent(String key, byte[] data);

    /** Replace-if-ETag-matches; returns the new ETag. */
    String putIfMatch(String key, byte[] data, String expectedEtag);

    /** Keys under the prefix, sorted. */
    List<String> list(String prefix);

    /** Deleting an absent key is not an error. */
    void delete(String key);

    /**
     * The object's own file, if this bucket is a directory on this machine: a reader can use it as
     * it would a downloaded copy. Empty for remote buckets.
     */
    default Optional<Path> localFile(String key) {
        return Optional.empty();
    }

    @Override
    void close();

    record VersionedObject(byte[] data, String etag) {}

    record ObjectInfo(long size, String etag) {}
}
