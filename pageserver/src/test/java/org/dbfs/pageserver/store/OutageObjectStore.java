package org.dbfs.pageserver.store;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStoreUnavailableException;

/** A real bucket that can be made unreachable: every call fails as an unreachable S3 endpoint does. */
final class OutageObjectStore implements ObjectStore {
    private final ObjectStore bucket;
    volatile boolean down;
    volatile String refuseWritesUnder; // writes of objects whose names start with this fail too


    OutageObjectStore(ObjectStore bucket) {
        this.bucket = bucket;
    }

    private void check() {
        if (down) {
            throw new ObjectStoreUnavailableException("bucket " + describe() + " is unreachable (test outage)");
        }
    }

    @Override
    public String describe() {
        return bucket.describe();
    }

    @Override
    public void checkReachable() {
        check();
        bucket.checkReachable();
    }

    @Override
    public byte[] get(String key) {
        check();
        return bucket.get(key);
    }

    @Override
    public byte[] getRange(String key, long offset, int length) {
        check();
        return bucket.getRange(key, offset, length);
    }

    @Override
    public Optional<VersionedObject> getVersioned(String key) {
        check();
        return bucket.getVersioned(key);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        check();
        return bucket.stat(key);
    }

    private void checkWrite(String key) {
        check();
        String refused = refuseWritesUnder;
        if (refused != null && key.startsWith(refused)) {
            throw new ObjectStoreUnavailableException("writing " + key + " to " + describe() + " failed (test outage)");
        }
    }

    @Override
    public String put(String key, byte[] data) {
        checkWrite(key);
        return bucket.put(key, data);
    }

    @Override
    public String putIfAbsent(String key, byte[] data) {
        checkWrite(key);
        return bucket.putIfAbsent(key, data);
    }

    @Override
    public String putIfMatch(String key, byte[] data, String expectedEtag) {
        check();
        return bucket.putIfMatch(key, data, expectedEtag);
    }

    @Override
    public List<String> list(String prefix) {
        check();
        return bucket.list(prefix);
    }

    @Override
    public void delete(String key) {
        check();
        bucket.delete(key);
    }

    @Override
    public Optional<Path> localFile(String key) {
        return down ? Optional.empty() : bucket.localFile(key);
    }

    @Override
    public void close() {
        bucket.close();
    }
}
