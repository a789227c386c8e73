package org.dbfs.bucket.objectstore;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The behaviour every {@link ObjectStore} must share; each implementation's test extends this. */
abstract class ObjectStoreContractTest {
    protected ObjectStore store;

    /** A fresh, empty store for one test. */
    protected abstract ObjectStore openStore() throws Exception;

    @BeforeEach
    void openFreshStore() throws Exception {
        store = openStore();
    }

    @AfterEach
    void closeStore() {
        store.close();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(UTF_8);
    }

    @Test
    void putThenGetReturnsTheBytes() {
        String etag = store.put("segments/0001.seg", bytes("hello"));
        assertArrayEquals(bytes("hello"), store.get("segments/0001.seg"));
        assertTrue(!etag.isEmpty() && !etag.contains("\""), "etag without quotes: " + etag);
    }

    @Test
    void emptyObjectRoundTrips() {
        store.put("empty", new byte[0]);
        assertArrayEquals(new byte[0], store.get("empty"));
        assertEquals(0, store.stat("empty").orElseThrow().size());
    }

    @Test
    void getOfMissingKeyThrowsNotFound() {
        assertThrows(ObjectNotFoundException.class, () -> store.get("nope"));
        assertThrows(ObjectNotFoundException.class, () -> store.getRange("nope", 0, 10));
    }

    @Test
    void getRangeReturnsOnlyTheRequestedBytes() {
        byte[] data = new byte[1 << 20];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31 + 7);
        }
        store.put("big", data);
        assertArrayEquals(Arrays.copyOfRange(data, 0, 10), store.getRange("big", 0, 10));
        assertArrayEquals(Arrays.copyOfRange(data, 500_000, 600_000), store.getRange("big", 500_000, 100_000));
        assertArrayEquals(Arrays.copyOfRange(data, data.length - 1, data.length), store.getRange("big", data.length - 1, 1));
    }

    @Test
    void getRangePastTheEndIsShortOrEmpty() {
        store.put("k", bytes("0123456789"));
        assertArrayEquals(bytes("789"), store.getRange("k", 7, 100));
        assertArrayEquals(new byte[0], store.getRange("k", 10, 5));
        assertArrayEquals(new byte[0], store.getRange("k", 1000, 5));
        assertArrayEquals(new byte[0], store.getRange("k", 3, 0));
    }

    @Test
    void statAndGetVersionedReportSizeAndTheWrittenEtag() {
        String etag = store.put("a/b", bytes("abcdef"));
        assertEquals(new ObjectStore.ObjectInfo(6, etag), store.stat("a/b").orElseThrow());
        ObjectStore.VersionedObject versioned = store.getVersioned("a/b").orElseThrow();
        assertArrayEquals(bytes("abcdef"), versioned.data());
        assertEquals(etag, versioned.etag());
        assertEquals(Optional.empty(), store.stat("a/c"));
        assertEquals(Optional.empty(), store.getVersioned("a/c"));
    }

    @Test
    void overwriteReplacesContentAndEtag() {
        String first = store.put("k", bytes("one"));
        String second = store.put("k", bytes("two"));
        assertNotEquals(first, second);
        assertArrayEquals(bytes("two"), store.get("k"));
        assertEquals(second, store.stat("k").orElseThrow().etag());
    }

    @Test
    void listIsSortedAndFilteredByPrefix() {
        for (String key : List.of("b/2", "a/2", "a/10", "a/1", "c", "ab")) {
            store.put(key, bytes(key));
        }
        assertEquals(List.of("a/1", "a/10", "a/2", "ab", "b/2", "c"), store.list(""));
        assertEquals(List.of("a/1", "a/10", "a/2"), store.list("a/"));
        assertEquals(List.of("a/1", "a/10"), store.list("a/1"));
        assertEquals(List.of("a/1", "a/10", "a/2", "ab"), store.list("a"));
        assertEquals(List.of(), store.list("zzz/"));
    }

    @Test
    void deleteRemovesAndDeletingAbsentIsFine() {
        store.put("x/y", bytes("1"));
        store.delete("x/y");
        assertEquals(Optional.empty(), store.stat("x/y"));
        assertEquals(List.of(), store.list(""));
        store.delete("x/y");
        store.delete("never/there");
    }

    @Test
    void putIfAbsentCreatesOnceAndThenFailsWithoutChangingAnything() {
        String etag = store.putIfAbsent("manifest/current", bytes("v1"));
        assertEquals(etag, store.stat("manifest/current").orElseThrow().etag());

        assertThrows(PreconditionFailedException.class, () -> store.putIfAbsent("manifest/current", bytes("v2")));
        ObjectStore.VersionedObject now = store.getVersioned("manifest/current").orElseThrow();
        assertArrayEquals(bytes("v1"), now.data());
        assertEquals(etag, now.etag());
    }

    @Test
    void putIfAbsentSucceedsAgainAfterDelete() {
        store.putIfAbsent("k", bytes("v1"));
        store.delete("k");
        store.putIfAbsent("k", bytes("v2"));
        assertArrayEquals(bytes("v2"), store.get("k"));
    }

    @Test
    void putIfMatchOnlySucceedsWithTheCurrentEtag() {
        String v1 = store.put("counter", bytes("1"));
        String v2 = store.putIfMatch("counter", bytes("2"), v1);
        assertNotEquals(v1, v2);
        assertEquals(v2, store.stat("counter").orElseThrow().etag());

        // v1 is stale now: the write must fail and leave "2" in place.
        assertThrows(PreconditionFailedException.class, () -> store.putIfMatch("counter", bytes("3"), v1));
        ObjectStore.VersionedObject now = store.getVersioned("counter").orElseThrow();
        assertArrayEquals(bytes("2"), now.data());
        assertEquals(v2, now.etag());

        String v3 = store.putIfMatch("counter", bytes("3"), now.etag());
        assertArrayEquals(bytes("3"), store.get("counter"));
        assertEquals(v3, store.stat("counter").orElseThrow().etag());
    }

    @Test
    void putIfMatchOnMissingKeyFails() {
        String etag = store.put("gone", bytes("x"));
        store.delete("gone");
        assertThrows(PreconditionFailedException.class, () -> store.putIfMatch("gone", bytes("y"), etag));
        assertEquals(Optional.empty(), store.stat("gone"));
    }

    @Test
    void invalidKeysAreRejected() {
        for (String bad : List.of("", "/abs", "../up", "a/../b", "a//b", "a/./b", "dir/", ".dbfs-tmp-x", "a/.dbfs-locks/b")) {
            assertThrows(IllegalArgumentException.class, () -> store.put(bad, bytes("x")), "key=" + bad);
        }
        assertThrows(IllegalArgumentException.class, () -> store.list("../"));
        assertThrows(IllegalArgumentException.class, () -> store.getRange("k", -1, 1));
    }

    @Test
    void checkReachableSucceedsOnAWorkingStore() {
        store.checkReachable();
        assertTrue(!store.describe().isEmpty());
    }
}
