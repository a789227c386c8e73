package org.dbfs.walservice.archive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.dbfs.bucket.BucketLayout.WalArchiveObject;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.LocalObjectStore;
import org.dbfs.walservice.wal.DurablePosition;
import org.dbfs.walservice.wal.WalNotAvailableException;
import org.dbfs.walservice.wal.WalPositions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArchiveTest {
    @TempDir
    Path dir;

    static final int SEG = 1 << 20;
    static final long START = 0x100000L + 8192;
    final FrameCodec codec = FrameCodec.forKey(new byte[32]);
    final byte[] wal = new byte[(2 * SEG) + 5000];

    ArchiveTest() {
        new Random(3).nextBytes(wal);
    }

    WalArchiver.DurableWal source(WalPositions positions) {
        return (s, e) -> {
            assertTrue(e <= positions.flushed(), "the archiver read past the flushed position");
            return Arrays.copyOfRange(wal, (int) (s - START), (int) (e - START));
        };
    }

    @Test
    void drainArchivesContiguousObjectsWithinSegmentsAndRestartListsTheEnd() throws Exception {
        try (LocalObjectStore store = new LocalObjectStore(dir.resolve("bucket"))) {
            WalPositions positions = new WalPositions();
            positions.layout(new DurablePosition(7, 1, SEG, START, START + 100_000));
            WalArchiver archiver = new WalArchiver(store, codec, 1, positions, source(positions), null);
            archiver.recover(org.dbfs.walservice.archive.TimelineHistory.FIRST);
            archiver.drain();
            assertEquals(START + 100_000, positions.archived());

            positions.flushed(START + wal.length);
            WalArchiver restarted = new WalArchiver(store, codec, 1, positions, source(positions), null);
            ArchiveCatalog before = restarted.recover(org.dbfs.walservice.archive.TimelineHistory.FIRST);
            assertEquals(START + 100_000, before.end());
            restarted.drain();

            ArchiveCatalog catalog = ArchiveCatalog.list(store, 1);
            assertEquals(List.of(), catalog.discontinuities());
            assertEquals(START, catalog.start());
            assertEquals(START + wal.length, catalog.end());
            for (WalArchiveObject n : catalog.objects()) {
                assertEquals(n.startLsn() / SEG, (n.endLsn() - 1) / SEG, "an object stays inside one segment: " + n);
            }
            assertEquals(4, catalog.objects().size());
            ArchiveReader reader = new ArchiveReader(store, codec, 1);
            assertArrayEquals(wal, reader.read(START, START + wal.length));
            assertArrayEquals(Arrays.copyOfRange(wal, 99_000, 1_500_000), reader.read(START + 99_000, START + 1_500_000));
            assertThrows(WalNotAvailableException.class, () -> reader.read(START - 10, START + 10));
            assertThrows(WalNotAvailableException.class, () -> reader.read(START, START + wal.length + 1));
        }
    }

    @Test
    void aCorruptOrMovedObjectIsNamed() throws Exception {
        Path bucket = dir.resolve("bucket");
        try (LocalObjectStore store = new LocalObjectStore(bucket)) {
            WalArchiveObject name = archiveFromStart(store, 50_000);
            byte[] frame = store.get(name.name());

            frame[frame.length / 2] ^= 1;
            store.put(name.name(), frame);
            ArchiveReader reader = new ArchiveReader(store, codec, 1);
            IntegrityException e = assertThrows(IntegrityException.class, () -> reader.read(START, START + 10));
            assertTrue(e.getMessage().contains(name.name()), e.getMessage());

            frame[frame.length / 2] ^= 1;
            store.delete(name.name());
            WalArchiveObject moved = new WalArchiveObject(1, START, START + 40_000);
            store.put(moved.name(), frame); // a valid frame under the wrong name must not open
            e = assertThrows(IntegrityException.class, () -> reader.read(START, START + 10));
            assertTrue(e.getMessage().contains(moved.name()), e.getMessage());
            assertTrue(Files.exists(bucket));
        }
    }

    /** Whichever byte of an archive object has a flipped bit, its read fails naming it, and returns no WAL. */
    @Test
    void aFlippedBitAnywhereInAnArchiveObjectFailsItsReadNamingIt() throws Exception {
        Path bucket = dir.resolve("bucket");
        try (LocalObjectStore store = new LocalObjectStore(bucket)) {
            WalArchiveObject name = archiveFromStart(store, 1000);
            ArchiveReader reader = new ArchiveReader(store, codec, 1);
            assertArrayEquals(Arrays.copyOf(wal, 1000), reader.read(START, START + 1000));

            Path file = bucket.resolve(name.name());
            byte[] intact = Files.readAllBytes(file);
            for (int at = 0; at < intact.length; at++) { // one bit of each byte, a different one from byte to byte
                byte[] damaged = intact.clone();
                damaged[at] ^= (byte) (1 << (at % 8));
                Files.write(file, damaged);
                IntegrityException e = assertThrows(IntegrityException.class, () -> reader.readObject(name), "byte " + at);
                assertTrue(e.getMessage().contains("WAL archive object " + name.name() + " in " + store.describe()),
                        e.getMessage());
                assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
            }
            // A reader that opened it before it was damaged has the verified bytes; one that has not, fails.
            assertArrayEquals(Arrays.copyOf(wal, 1000), reader.read(START, START + 1000));
            assertThrows(IntegrityException.class, () -> new ArchiveReader(store, codec, 1).read(START, START + 1000),
                    "the range read too");
        }
    }

    /** The timeline history the WAL service keeps beside the archive: every flipped bit fails its load naming it. */
    @Test
    void aFlippedBitAnywhereInTheTimelineHistoryFailsItsLoadNamingIt() {
        try (LocalObjectStore store = new LocalObjectStore(dir.resolve("bucket"))) {
            TimelineHistory history = TimelineHistory.FIRST.followedBy(2, START + 4096);
            history.store(store, codec);
            assertEquals(history, TimelineHistory.load(store, codec));
            byte[] intact = store.get(TimelineHistory.OBJECT);
            for (int bit = 0; bit < intact.length * 8; bit++) {
                byte[] damaged = intact.clone();
                damaged[bit / 8] ^= (byte) (1 << (bit % 8));
                store.put(TimelineHistory.OBJECT, damaged);
                IntegrityException e = assertThrows(IntegrityException.class, () -> TimelineHistory.load(store, codec), "bit " + bit);
                assertTrue(e.getMessage().contains(TimelineHistory.OBJECT + " in " + store.describe()), e.getMessage());
            }
        }
    }

    /** Archives the first {@code bytes} of {@link #wal} into an empty bucket; its first object. */
    private WalArchiveObject archiveFromStart(LocalObjectStore store, long bytes) throws Exception {
        WalPositions positions = new WalPositions();
        positions.layout(new DurablePosition(7, 1, SEG, START, START + bytes));
        WalArchiver archiver = new WalArchiver(store, codec, 1, positions, source(positions), null);
        archiver.recover(TimelineHistory.FIRST);
        archiver.drain();
        return ArchiveCatalog.list(store, 1).objects().getFirst();
    }

    @Test
    void catalogReportsGapsAndOverlaps() {
        ArchiveCatalog c = new ArchiveCatalog(List.of(new WalArchiveObject(1, 0, 100), new WalArchiveObject(1, 100, 200),
                new WalArchiveObject(1, 150, 250), new WalArchiveObject(1, 300, 400)));
        assertEquals(2, c.discontinuities().size());
        assertEquals(400, c.end());
    }
}
