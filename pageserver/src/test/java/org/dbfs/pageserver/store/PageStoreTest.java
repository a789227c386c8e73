package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pgformat.RelTag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class PageStoreTest {
    static final RelTag REL = new RelTag(1663, 5, 16384, 0);
    static final FrameCodec CODEC = FrameCodec.forKey(new byte[32]);

    @TempDir
    Path tmp;
    Path bucketDir;
    Path cacheDir;
    ObjectStore bucket;
    PageStore store;

    @BeforeEach
    void open() throws IOException {
        bucketDir = tmp.resolve("bucket");
        cacheDir = tmp.resolve("cache");
        bucket = ObjectStores.open(bucketDir.toString(), null);
        store = PageStore.open(bucket, CODEC, StoreOptions.defaults(cacheDir));
    }

    @AfterEach
    void close() throws IOException {
        if (store != null) {
            store.close();
        }
        bucket.close();
    }

    static byte[] page(long lsn, String marker) {
        byte[] p = new byte[8192];
        for (int i = 0; i < 8; i++) {
            p[i] = (byte) (i < 4 ? (lsn >>> 32) >>> (8 * i) : lsn >>> (8 * (i - 4)));
        }
        byte[] m = marker.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(m, 0, p, 100, m.length);
        return p;
    }

    void put(RelTag rel, int block, long lsn, byte[] data) throws IOException {
        store.commit(JournalRecord.newBuilder().addPages(PageVersionRecord.newBuilder().setRel(RelTagRecords.toRecord(rel))
                .setBlockNum(block).setLsn(lsn).setData(ByteString.copyFrom(data))), true);
    }

    /** Reopens on {@code newCacheDir}: after a clean stop if it is another one (a new machine), else as after a crash. */
    void reopen(Path newCacheDir) throws IOException {
        if (!newCacheDir.equals(cacheDir)) {
            store.drain();
        }
        store.close();
        store = null;
        store = PageStore.open(bucket, CODEC, StoreOptions.defaults(newCacheDir));
    }

    void assertVersions() {
        assertEquals(20, store.readPage(REL, 7, 25).lsn());
        assertArrayEquals(page(20, "v20"), store.readPage(REL, 7, 25).data());
        assertEquals(30, store.readPage(REL, 7, 0).lsn());
        assertArrayEquals(page(30, "v30"), store.readPage(REL, 7, 0).data());
        assertEquals(10, store.readPage(REL, 7, 10).lsn());
        assertNull(store.readPage(REL, 7, 9), "nothing at or below LSN 9");
        assertNull(store.readPage(REL, 8, 0), "never written");
    }

    @Test
    void readAsOfLsnReturnsNewestVersionAtOrBelowItThroughRestartsAndPacking() throws IOException {
        for (long lsn : new long[] {10, 20, 30}) {
            put(REL, 7, lsn, page(lsn, "v" + lsn));
        }
        assertVersions();
        reopen(cacheDir); // from the journal
        assertVersions();
        store.packNow();
        assertEquals(1, store.segmentCount());
        assertVersions(); // from the segment (local cache)
        reopen(tmp.resolve("fresh-cache")); // from the bucket only: ranged GETs
        assertVersions();
    }

    @Test
    void secondWriteWithTheSameLsnReplacesTheFirst() throws IOException {
        put(REL, 1, 50, page(50, "before hint bits"));
        put(REL, 1, 50, page(50, "after hint bits"));
        assertArrayEquals(page(50, "after hint bits"), store.readPage(REL, 1, 50).data());
        store.packNow();
        put(REL, 1, 50, page(50, "hint bits again"));
        reopen(cacheDir);
        assertArrayEquals(page(50, "hint bits again"), store.readPage(REL, 1, 0).data());
        assertArrayEquals(page(50, "hint bits again"), store.readPage(REL, 1, 60).data());
    }

    @Test
    void droppedBlocksReadAbsentButOlderLsnReadsStillSeeThem() throws IOException {
        put(REL, 0, 10, page(10, "a"));
        put(REL, 1, 10, page(10, "b"));
        store.commit(JournalRecord.newBuilder().addRelDrops(org.dbfs.pageserver.format.BlockRangeDrop.newBuilder()
                .setRel(RelTagRecords.toRecord(REL)).setFromBlock(1)), true);
        assertArrayEquals(page(10, "a"), store.readPage(REL, 0, 0).data());
        assertNull(store.readPage(REL, 1, 0));
        put(REL, 1, 0, new byte[8192]); // re-extended with a zero page (pd_lsn 0)
        store.packNow();
        reopen(tmp.resolve("fresh-cache"));
        assertArrayEquals(new byte[8192], store.readPage(REL, 1, 0).data(), "latest = last written, not highest LSN");
        assertArrayEquals(page(10, "a"), store.readPage(REL, 0, 0).data());
        assertArrayEquals(page(10, "b"), store.readPage(REL, 1, 10).data(), "before the drop, as of its LSN");
    }

    @Test
    void nothingInTheBucketOrCacheIsPlaintext() throws IOException {
        String marker = "PLAINTEXT-MARKER-" + System.nanoTime();
        put(REL, 3, 100, page(100, marker));
        store.packNow();
        put(REL, 4, 101, page(101, marker)); // this one stays in the journal
        store.sync();
        byte[] needle = marker.getBytes(StandardCharsets.UTF_8);
        List<Path> files;
        try (Stream<Path> s = Stream.concat(Files.walk(bucketDir), Files.walk(cacheDir))) {
            files = s.filter(Files::isRegularFile).toList();
        }
        assertTrue(files.size() >= 4, "bucket and cache hold objects: " + files);
        for (Path f : files) {
            assertTrue(indexOf(Files.readAllBytes(f), needle) < 0, "marker found in " + f);
        }
    }

    @Test
    void flippedByteInSegmentIsAnIntegrityErrorNamingTheObject() throws IOException {
        put(REL, 2, 10, page(10, "will be corrupted"));
        store.drain();
        store.close();
        store = null;
        Path segment;
        try (Stream<Path> s = Files.walk(bucketDir.resolve("segments"))) {
            segment = s.filter(p -> p.toString().endsWith(".seg")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(segment);
        bytes[16 + 30] ^= 0x01; // inside the first frame, past the 16-byte header
        Files.write(segment, bytes);
        store = PageStore.open(bucket, CODEC, StoreOptions.defaults(tmp.resolve("fresh-cache")));
        IntegrityException e = assertThrows(IntegrityException.class, () -> store.readPage(REL, 2, 0));
        assertTrue(e.getMessage().contains(segment.getFileName().toString()), e.getMessage());
        assertTrue(Files.exists(segment), "a damaged object stays in the bucket for inspection");
    }

    @Test
    void aLocalBucketsSegmentsAreReadInPlaceNotCopiedIntoTheCache() throws IOException {
        put(REL, 5, 10, page(10, "packed"));
        store.packNow();
        try (Stream<Path> s = Files.walk(bucketDir.resolve("segments"))) {
            assertEquals(1, s.filter(p -> p.toString().endsWith(".seg")).count());
        }
        reopen(cacheDir);
        assertArrayEquals(page(10, "packed"), store.readPage(REL, 5, 0).data());
        try (Stream<Path> s = Files.walk(cacheDir)) {
            List<Path> copies = s.filter(p -> p.toString().contains(".seg")).toList();
            assertEquals(List.of(), copies, "the bucket's object is the local copy");
        }
    }

    @Test
    void tornJournalTailIsCutAndEverythingBeforeItSurvives() throws IOException {
        for (int i = 0; i < 20; i++) {
            put(REL, i, 10 + i, page(10 + i, "row" + i));
        }
        Path journalFile = closeAndFindCurrentJournal();
        // A write that was never acknowledged: a frame cut short where the records end (the file
        // is preallocated with zeros past that point).
        long end = endOfRecords(journalFile);
        byte[] garbage = new byte[100];
        Arrays.fill(garbage, (byte) 7);
        garbage[0] = (byte) 200; // length prefix 200, but only 96 bytes of it made it
        garbage[1] = garbage[2] = garbage[3] = 0;
        try (var ch = java.nio.channels.FileChannel.open(journalFile, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(garbage), end);
        }
        store = PageStore.open(bucket, CODEC, StoreOptions.defaults(cacheDir));
        for (int i = 0; i < 20; i++) {
            assertArrayEquals(page(10 + i, "row" + i), store.readPage(REL, i, 0).data());
        }
        put(REL, 99, 99, page(99, "after recovery"));
        reopen(cacheDir);
        assertArrayEquals(page(99, "after recovery"), store.readPage(REL, 99, 0).data());
    }

    @Test
    void damagedJournalRecordWithRecordsAfterItStopsTheStart() throws IOException {
        for (int i = 0; i < 5; i++) {
            put(REL, i, 10 + i, page(10 + i, "row" + i));
        }
        Path journalFile = closeAndFindCurrentJournal();
        byte[] bytes = Files.readAllBytes(journalFile);
        bytes[4 + 30] ^= 0x40; // inside the first record (the root directory's)
        Files.write(journalFile, bytes);
        IntegrityException e = assertThrows(IntegrityException.class,
                () -> PageStore.open(bucket, CODEC, StoreOptions.defaults(cacheDir)));
        assertTrue(e.getMessage().contains(journalFile.getFileName().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("not a torn last write"), e.getMessage());
    }

    @Test
    void journalFilesBelowThePackedSequenceAreRetired() throws IOException {
        for (int i = 0; i < 10; i++) {
            put(REL, i, 10, page(10, "x"));
        }
        store.packNow();
        put(REL, 11, 10, page(10, "y"));
        store.packNow();
        try (Stream<Path> s = Files.list(cacheDir.resolve("journal"))) {
            List<String> names = s.map(p -> p.getFileName().toString()).toList();
            assertEquals(1, names.stream().filter(n -> n.endsWith(".journal")).count(),
                    "only the current journal file remains: " + names);
            assertEquals(1, names.stream().filter(n -> n.endsWith(".spare")).count(),
                    "one packed file kept for reuse (the other one was reused): " + names);
        }
        reopen(tmp.resolve("fresh-cache"));
        assertArrayEquals(page(10, "y"), store.readPage(REL, 11, 0).data());
        assertArrayEquals(page(10, "x"), store.readPage(REL, 9, 0).data());
    }

    Path closeAndFindCurrentJournal() throws IOException {
        store.close();
        store = null;
        try (Stream<Path> s = Files.list(cacheDir.resolve("journal"))) {
            return s.filter(p -> p.toString().endsWith(".journal")).max(Path::compareTo).orElseThrow();
        }
    }

    /** Walks the frame headers of a (current-format) journal file to the zero header that ends its records. */
    static long endOfRecords(Path journalFile) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(Files.readAllBytes(journalFile)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long pos = 0;
        for (int len; (len = b.getInt((int) pos)) != 0; ) {
            pos += 8 + len; // [u32 length][u32 CRC32C][frame]
        }
        return pos;
    }

    public static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
