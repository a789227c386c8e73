package org.dbfs.bucket.objectstore;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.nio.file.Path;

/**
 * Increments a decimal counter object by compare-and-swap. Used by tests both in-process and as
 * the main class of child JVMs, to race across processes.
 */
public final class CasCounterWorker {
    private CasCounterWorker() {}

    /** Args: bucket directory, key, number of successful increments to make. */
    public static void main(String[] args) {
        try (ObjectStore store = new LocalObjectStore(Path.of(args[0]))) {
            int[] result = increment(store, args[1], Integer.parseInt(args[2]));
            System.out.println("successes=" + result[0] + " conflicts=" + result[1]);
        }
    }

    /** Returns {successful CAS, lost CAS}; retries until {@code increments} have succeeded. */
    static int[] increment(ObjectStore store, String key, int increments) {
        int successes = 0;
        int conflicts = 0;
        while (successes < increments) {
            ObjectStore.VersionedObject current = store.getVersioned(key).orElseThrow();
            int value = Integer.parseInt(new String(current.data(), UTF_8));
            try {
                store.putIfMatch(key, String.valueOf(value + 1).getBytes(UTF_8), current.etag());
                successes++;
            } catch (PreconditionFailedException lost) {
                conflicts++;
            }
        }
        return new int[] {successes, conflicts};
    }
}
