package org.dbfs.bucket.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.dbfs.bucket.objectstore.LocalObjectStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BucketKeysTest {
    private static final char[] PASSPHRASE = "correct horse battery staple".toCharArray();
    private static final byte[] AD = FrameCodec.associatedData("manifest", 0);
    private static final byte[] PAGE = FrameCodecTest.compressible(8192, 42);

    private final InMemoryObjectStore store = new InMemoryObjectStore();

    @Test
    void createThenReopenGivesTheSameKey() {
        FrameCodec first = BucketKeys.openOrCreate(store, PASSPHRASE);
        byte[] frame = first.seal(PAGE, AD);

        String text = new String(store.get(BucketKeys.OBJECT_NAME), StandardCharsets.US_ASCII);
        assertTrue(text.startsWith("format=2\nkdf=argon2id\nm=19456\nt=2\np=1\nsalt="), text);
        assertTrue(text.contains("\ncheck="), text);
        assertTrue(text.matches("(?s).*\nsha256=[0-9a-f]{64}\n"), text);

        Map<String, byte[]> before = store.snapshot();
        FrameCodec again = BucketKeys.openOrCreate(store, PASSPHRASE.clone());
        assertArrayEquals(PAGE, again.open(frame, AD, "manifest @ 0"));
        assertArrayEquals(PAGE, first.open(again.seal(PAGE, AD), AD, "manifest @ 0"));
        assertSameContents(before, store.snapshot());
    }

    @Test
    void aReaderNeverCreatesABucket() {
        org.dbfs.bucket.objectstore.ObjectStoreException e = assertThrows(org.dbfs.bucket.objectstore.ObjectStoreException.class,
                () -> BucketKeys.openExisting(store, PASSPHRASE.clone()));
        assertTrue(e.getMessage().contains("not a DbFS bucket"), e.getMessage());
        assertTrue(store.snapshot().isEmpty(), "nothing was written: " + store.snapshot().keySet());

        FrameCodec created = BucketKeys.openOrCreate(store, PASSPHRASE.clone());
        FrameCodec opened = BucketKeys.openExisting(store, PASSPHRASE.clone());
        assertArrayEquals(PAGE, opened.open(created.seal(PAGE, AD), AD, "manifest @ 0"));
    }

    @Test
    void wrongPassphraseChangesNothing() {
        BucketKeys.openOrCreate(store, PASSPHRASE);
        Map<String, byte[]> before = store.snapshot();
        WrongPassphraseException e = assertThrows(WrongPassphraseException.class,
                () -> BucketKeys.openOrCreate(store, "correct horse battery stapler".toCharArray()));
        assertTrue(e.getMessage().contains("mem://test"), e.getMessage());
        assertTrue(e.getMessage().contains("dbfs-key"), e.getMessage());
        assertTrue(e.getMessage().contains("Nothing was changed"), e.getMessage());
        assertTrue(e.getMessage().contains("DBFS_PASSPHRASE"), e.getMessage());
        assertSameContents(before, store.snapshot());
    }

    @Test
    void storedCostIsUsedNotTheDefault() {
        KeyDerivation.Cost cheap = new KeyDerivation.Cost(64, 1, 1);
        FrameCodec created = BucketKeys.openOrCreate(store, PASSPHRASE, cheap);
        String text = new String(store.get(BucketKeys.OBJECT_NAME), StandardCharsets.US_ASCII);
        assertTrue(text.contains("\nm=64\nt=1\np=1\n"), text);
        FrameCodec reopened = BucketKeys.openOrCreate(store, PASSPHRASE);
        assertArrayEquals(PAGE, reopened.open(created.seal(PAGE, AD), AD, "x"));
    }

    @Test
    void racingFirstStartsAgreeOnOneKey() throws Exception {
        // Both racers see "absent", derive with their own salt, and race on putIfAbsent.
        store.getVersionedBarrier = new CyclicBarrier(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<FrameCodec> a = pool.submit(() -> BucketKeys.openOrCreate(store, PASSPHRASE.clone()));
            Future<FrameCodec> b = pool.submit(() -> BucketKeys.openOrCreate(store, PASSPHRASE.clone()));
            FrameCodec ca = a.get();
            FrameCodec cb = b.get();
            assertEquals(1, store.preconditionFailures.get(), "exactly one racer should lose putIfAbsent");
            assertArrayEquals(PAGE, cb.open(ca.seal(PAGE, AD), AD, "x"));
            assertArrayEquals(PAGE, ca.open(cb.seal(PAGE, AD), AD, "x"));
        } finally {
            pool.shutdownNow();
            store.getVersionedBarrier = null;
        }
        assertArrayEquals(PAGE, BucketKeys.openOrCreate(store, PASSPHRASE).open(
                BucketKeys.openOrCreate(store, PASSPHRASE).seal(PAGE, AD), AD, "x"));
    }

    @Test
    void racerWithAnotherPassphraseGetsWrongPassphrase() throws Exception {
        store.getVersionedBarrier = new CyclicBarrier(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        int wrong = 0;
        try {
            Future<FrameCodec> a = pool.submit(() -> BucketKeys.openOrCreate(store, "one".toCharArray()));
            Future<FrameCodec> b = pool.submit(() -> BucketKeys.openOrCreate(store, "two".toCharArray()));
            for (Future<FrameCodec> f : java.util.List.of(a, b)) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    assertTrue(e.getCause() instanceof WrongPassphraseException, e.toString());
                    wrong++;
                }
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, wrong);
    }

    @Test
    void emptyPassphraseIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BucketKeys.openOrCreate(store, new char[0]));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
        assertTrue(store.snapshot().isEmpty());
    }

    /** Parsed as format 1, which has no checksum line to catch these before the parser does. */
    @Test
    void malformedKeyObjectsAreReportedAsCorruptAndLeftAlone() {
        BucketKeys.openOrCreate(store, PASSPHRASE, new KeyDerivation.Cost(64, 1, 1));
        String good = asFormat1(new String(store.get(BucketKeys.OBJECT_NAME), StandardCharsets.US_ASCII));
        String[] bad = {
            "",
            "hello",
            good.replace("format=1", "format=x"),
            good.replace("format=1\n", ""),
            good.replace("kdf=argon2id", "kdf=scrypt"),
            good.replace("\nm=64", "\nm=-5"),
            good.replace("\nm=64", "\nm=99999999"),
            good.replace("\nt=1", "\nt=0"),
            good.replace("\np=1", ""),
            good.replace("salt=", "salt=!!"),
            good.replace("salt=", "salt=AAAA"),
            good + "check=AAAA\n",
            good + "extra=1\n",
        };
        for (String text : bad) {
            store.put(BucketKeys.OBJECT_NAME, text.getBytes(StandardCharsets.UTF_8));
            Map<String, byte[]> before = store.snapshot();
            UnreadableKeyObjectException e = assertThrows(UnreadableKeyObjectException.class,
                    () -> BucketKeys.openOrCreate(store, PASSPHRASE), text);
            assertTrue(e.getMessage().contains("dbfs-key") && e.getMessage().contains("mem://test"), e.getMessage());
            assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
            assertSameContents(before, store.snapshot());
        }
        store.put(BucketKeys.OBJECT_NAME, new byte[] {(byte) 0xc3, (byte) 0x28});
        assertThrows(UnreadableKeyObjectException.class, () -> BucketKeys.openOrCreate(store, PASSPHRASE));
    }

    @Test
    void newerFormatSaysSo() {
        store.put(BucketKeys.OBJECT_NAME, "format=3\nkdf=something-new\n".getBytes(StandardCharsets.US_ASCII));
        UnreadableKeyObjectException e = assertThrows(UnreadableKeyObjectException.class,
                () -> BucketKeys.openOrCreate(store, PASSPHRASE));
        assertTrue(e.getMessage().contains("newer"), e.getMessage());
    }

    /**
     * Every bit of the key object matters: a damaged salt, cost or check would derive another key
     * and read as a wrong passphrase, so its last line, a SHA-256 of the rest, tells damage apart.
     * In a bucket directory, as the object is on disk.
     */
    @Test
    void aFlippedBitAnywhereInTheKeyObjectIsReportedAsCorruptNamingIt(@TempDir Path dir) throws IOException {
        try (LocalObjectStore bucket = new LocalObjectStore(dir)) {
            BucketKeys.openOrCreate(bucket, PASSPHRASE, new KeyDerivation.Cost(64, 1, 1));
            Path file = dir.resolve(BucketKeys.OBJECT_NAME);
            byte[] intact = Files.readAllBytes(file);
            for (int bit = 0; bit < intact.length * 8; bit++) {
                byte[] damaged = intact.clone();
                damaged[bit / 8] ^= (byte) (1 << (bit % 8));
                Files.write(file, damaged);
                UnreadableKeyObjectException e = assertThrows(UnreadableKeyObjectException.class,
                        () -> BucketKeys.openExisting(bucket, PASSPHRASE.clone()), "bit " + bit);
                assertTrue(e.getMessage().contains("key object dbfs-key in bucket " + bucket.describe()), e.getMessage());
                assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
                assertArrayEquals(damaged, Files.readAllBytes(file), "left as it is");
            }
        }
    }

    /** A key object from before the checksum line: a damaged check cannot be told from a wrong passphrase, and the message says both. */
    @Test
    void aFormat1KeyObjectWithADamagedCheckSaysItMayBeEither() {
        BucketKeys.openOrCreate(store, PASSPHRASE, new KeyDerivation.Cost(64, 1, 1));
        String format1 = asFormat1(new String(store.get(BucketKeys.OBJECT_NAME), StandardCharsets.US_ASCII));
        open(format1); // still read
        int at = format1.indexOf("check=") + 6;
        String check = format1.substring(at, format1.indexOf('\n', at));
        byte[] raw = Base64.getDecoder().decode(check);
        raw[30] ^= 1;
        String damaged = format1.replace(check, Base64.getEncoder().encodeToString(raw));
        WrongPassphraseException e = assertThrows(WrongPassphraseException.class, () -> open(damaged));
        assertTrue(e.getMessage().contains("dbfs-key") && e.getMessage().contains("key object is corrupt"), e.getMessage());
    }

    /** A key object as DbFS wrote it before format 2: the same fields, no checksum line. */
    private static String asFormat1(String keyObject) {
        return keyObject.replace("format=2", "format=1").replaceAll("sha256=[0-9a-f]+\n$", "");
    }

    private FrameCodec open(String keyObject) {
        store.put(BucketKeys.OBJECT_NAME, keyObject.getBytes(StandardCharsets.US_ASCII));
        return BucketKeys.openOrCreate(store, PASSPHRASE.clone());
    }

    private static void assertSameContents(Map<String, byte[]> expected, Map<String, byte[]> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((k, v) -> assertArrayEquals(v, actual.get(k), k));
    }
}
