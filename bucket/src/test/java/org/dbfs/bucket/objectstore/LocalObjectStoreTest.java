package org.dbfs.bucket.objectstore;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalObjectStoreTest extends ObjectStoreContractTest {
    @TempDir
    Path dir;

    @Override
    protected ObjectStore openStore() {
        return new LocalObjectStore(dir.resolve("bucket"));
    }

    @Test
    void racingPutIfAbsentHasExactlyOneWinner() throws Exception {
        int writers = 16;
        // Many short rounds: the window between "absent?" and the rename is small, so one round proves little.
        int rounds = 30;
        // A second instance on the same directory must coordinate with the first, as a second process would.
        try (ObjectStore other = new LocalObjectStore(dir.resolve("bucket"))) {
            for (int round = 0; round < rounds; round++) {
                String key = "manifest/lease-" + round;
                CountDownLatch start = new CountDownLatch(1);
                List<Callable<String>> tasks = new ArrayList<>();
                for (int i = 0; i < writers; i++) {
                    ObjectStore s = i % 2 == 0 ? store : other;
                    String content = "writer-" + i;
                    tasks.add(() -> {
                        start.await();
                        try {
                            s.putIfAbsent(key, content.getBytes(UTF_8));
                            return content;
                        } catch (PreconditionFailedException lost) {
                            return null;
                        }
                    });
                }
                List<String> winners = runAll(tasks, start).stream().filter(w -> w != null).toList();
                assertEquals(1, winners.size(), "round " + round + " winners: " + winners);
                assertEquals(winners.get(0), new String(store.get(key), UTF_8));
            }
        }
    }

    @Test
    void casIncrementsFromManyThreadsLoseNoUpdate() throws Exception {
        int threads = 8;
        int incrementsEach = 40;
        store.put("counter", "0".getBytes(UTF_8));
        try (ObjectStore other = new LocalObjectStore(dir.resolve("bucket"))) {
            CountDownLatch start = new CountDownLatch(1);
            List<Callable<int[]>> tasks = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                ObjectStore s = i % 2 == 0 ? store : other;
                tasks.add(() -> {
                    start.await();
                    return CasCounterWorker.increment(s, "counter", incrementsEach);
                });
            }
            int successes = 0;
            int conflicts = 0;
            for (int[] result : runAll(tasks, start)) {
                successes += result[0];
                conflicts += result[1];
            }
            assertEquals(threads * incrementsEach, successes);
            assertEquals(successes, Integer.parseInt(new String(store.get("counter"), UTF_8)),
                    "lost updates (conflicts seen: " + conflicts + ")");
        }
    }

    @Test
    void casIncrementsFromSeveralProcessesLoseNoUpdate() throws Exception {
        int processes = 2;
        int incrementsEach = 30;
        store.put("counter", "0".getBytes(UTF_8));
        Path bucket = dir.resolve("bucket");
        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<Process> children = new ArrayList<>();
        for (int i = 0; i < processes; i++) {
            children.add(new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                            CasCounterWorker.class.getName(), bucket.toString(), "counter", String.valueOf(incrementsEach))
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("worker-" + i + ".log").toFile())
                    .start());
        }
        // This JVM competes too, so in-JVM and cross-process locking are exercised together.
        int[] mine = CasCounterWorker.increment(store, "counter", incrementsEach);
        for (int i = 0; i < processes; i++) {
            Process child = children.get(i);
            Path log = dir.resolve("worker-" + i + ".log");
            assertTrue(child.waitFor(120, TimeUnit.SECONDS), "worker " + i + " hung");
            assertEquals(0, child.exitValue(), () -> "worker failed: " + readQuietly(log));
        }
        assertEquals(incrementsEach, mine[0]);
        assertEquals((processes + 1) * incrementsEach, Integer.parseInt(new String(store.get("counter"), UTF_8)));
    }

    @Test
    void tempAndLockFilesNeverShowInList() throws Exception {
        store.put("a/b", "x".getBytes(UTF_8));
        store.putIfAbsent("c", "x".getBytes(UTF_8));
        // A crashed writer's leftover temp file.
        Files.writeString(dir.resolve("bucket/a/.dbfs-tmp-deadbeef"), "partial");
        assertTrue(Files.isDirectory(dir.resolve("bucket/.dbfs-locks")));
        assertEquals(List.of("a/b", "c"), store.list(""));
        assertEquals(List.of("a/b"), store.list("a/"));
    }

    @Test
    void objectsAreFilesUnderTheRoot() throws Exception {
        store.put("segments/0001.seg", "data".getBytes(UTF_8));
        assertArrayEquals("data".getBytes(UTF_8), Files.readAllBytes(dir.resolve("bucket/segments/0001.seg")));
    }

    @Test
    void aKeyThatIsADirectoryOfOtherKeysIsAbsent() {
        store.put("a/b", "x".getBytes(UTF_8));
        assertEquals(java.util.Optional.empty(), store.stat("a"));
        assertThrows(ObjectNotFoundException.class, () -> store.get("a"));
        ObjectStoreException e = assertThrows(ObjectStoreException.class, () -> store.put("a", "y".getBytes(UTF_8)));
        assertTrue(e.getMessage().contains("key=a"), e.getMessage());
    }

    @Test
    void bucketDirectoryThatCannotBeCreatedFailsClearly() throws Exception {
        Path file = Files.writeString(dir.resolve("regular-file"), "not a directory");
        Path impossible = file.resolve("bucket");
        ObjectStoreException e = assertThrows(ObjectStoreException.class, () -> new LocalObjectStore(impossible));
        assertTrue(e.getMessage().contains("path=" + impossible), e.getMessage());
        assertTrue(e.getMessage().contains("writable directory"), e.getMessage());
    }

    @Test
    void checkReachableFailsWhenTheDirectoryVanishes() throws Exception {
        Path root = dir.resolve("vanishing");
        try (ObjectStore s = new LocalObjectStore(root)) {
            Files.delete(root.resolve(".dbfs-locks"));
            Files.delete(root);
            ObjectStoreUnavailableException e = assertThrows(ObjectStoreUnavailableException.class, s::checkReachable);
            assertTrue(e.getMessage().contains("path=" + root), e.getMessage());
        }
    }

    private static <T> List<T> runAll(List<Callable<T>> tasks, CountDownLatch start) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(tasks.size());
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (Callable<T> task : tasks) {
                futures.add(pool.submit(task));
            }
            start.countDown();
            List<T> results = new ArrayList<>();
            for (Future<T> f : futures) {
                results.add(f.get(120, TimeUnit.SECONDS));
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            return "(unreadable: " + e + ")";
        }
    }
}
