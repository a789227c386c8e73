package org.dbfs.bucket.crypto;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.dbfs.bucket.objectstore.ObjectNotFoundException;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.PreconditionFailedException;

/** Test double: a map with ETags and the same conditional-write semantics as the real stores. */
final class InMemoryObjectStore implements ObjectStore {
    private record Entry(byte[] data, String etag) {}

    private final ConcurrentHashMap<String, Entry> objects = new ConcurrentHashMap<>();
    private final AtomicLong etags = new AtomicLong();
    final AtomicInteger preconditionFailures = new AtomicInteger();
    /** If set, every getVersioned waits here first: lets a test line racers up on "absent". */
    volatile CyclicBarrier getVersionedBarrier;

    @Override
    public String describe() {
        return "mem://test";
    }

    @Override
    public void checkReachable() {}

    @Override
    public byte[] get(String key) {
        Entry e = objects.get(key);
        if (e == null) {
            throw new ObjectNotFoundException("no object " + key);
        }
        return e.data().clone();
    }

    @Override
    public byte[] getRange(String key, long offset, int length) {
        byte[] d = get(key);
        int from = (int) Math.min(offset, d.length);
        return java.util.Arrays.copyOfRange(d, from, (int) Math.min(d.length, from + (long) length));
    }

    @Override
    public Optional<VersionedObject> getVersioned(String key) {
        CyclicBarrier b = getVersionedBarrier;
        if (b != null) {
            try {
                b.await();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        Entry e = objects.get(key);
        return e == null ? Optional.empty() : Optional.of(new VersionedObject(e.data().clone(), e.etag()));
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        Entry e = objects.get(key);
        return e == null ? Optional.empty() : Optional.of(new ObjectInfo(e.data().length, e.etag()));
    }

    @Override
    public String put(String key, byte[] data) {
        Entry e = new Entry(data.clone(), "e" + etags.incrementAndGet());
        objects.put(key, e);
        return e.etag();
    }

    @Override
    public String putIfAbsent(String key, byte[] data) {
        Entry e = new Entry(data.clone(), "e" + etags.incrementAndGet());
        if (objects.putIfAbsent(key, e) != null) {
            preconditionFailures.incrementAndGet();
            throw new PreconditionFailedException(key + " already exists");
        }
        return e.etag();
    }

    @Override
    public String putIfMatch(String key, byte[] data, String expectedEtag) {
        Entry e = new Entry(data.clone(), "e" + etags.incrementAndGet());
        boolean[] ok = {false};
        objects.computeIfPresent(key, (k, old) -> {
            if (old.etag().equals(expectedEtag)) {
                ok[0] = true;
                return e;
            }
            return old;
        });
        if (!ok[0]) {
            preconditionFailures.incrementAndGet();
            throw new PreconditionFailedException(key + " does not have ETag " + expectedEtag);
        }
        return e.etag();
    }

    @Override
    public List<String> list(String prefix) {
        return objects.keySet().stream().filter(k -> k.startsWith(prefix)).sorted().toList();
    }

    @Override
    public void delete(String key) {
        objects.remove(key);
    }

    @Override
    public void close() {}

    /** A deep copy of the contents, for before/after comparisons. */
    Map<String, byte[]> snapshot() {
        Map<String, byte[]> copy = new TreeMap<>();
        objects.forEach((k, v) -> copy.put(k, v.data().clone()));
        return copy;
    }
}
