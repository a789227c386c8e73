package org.dbfs.walservice.wal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.dbfs.pgformat.wal.Lsn;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalWalTest {
    @TempDir
    Path dir;

    static final WalSegments SEGS = new WalSegments(1 << 20);

    @Test
    void segmentNamesAndLsnTextMatchPostgres() {
        WalSegments sixteen = new WalSegments(16 << 20);
        assertEquals("000000010000000000000003", sixteen.fileNameFor(1, 0x3000028L));
        assertEquals("0000000100000001000000FF", sixteen.fileNameFor(1, 0x1FF000000L));
        assertEquals("0/3000028", Lsn.format(0x3000028L));
        assertEquals(0x1_0000_0028L, Lsn.parse("1/28"));
        assertEquals("0000000100000000000000FF", SEGS.fileNameFor(1, 0xFF00000L));
        assertThrows(IllegalArgumentException.class, () -> new WalSegments(3 << 20));
    }

    @Test
    void writesAcrossSegmentsAtTheirOwnOffsetsAndReadsBack() throws Exception {
        byte[] wal = new byte[(3 << 20) + 12345];
        new Random(1).nextBytes(wal);
        long start = 0x100000L + 8192; // mid-segment, as a first start at restart_lsn's page
        DurablePosition pos = new DurablePosition(42, 1, SEGS.segmentSize(), start, start);
        PositionFile pf = new PositionFile(dir);
        WalPositions positions = new WalPositions();
        try (DurableWalWriter w = new DurableWalWriter(LocalWal.open(dir.resolve("wal"), SEGS, 1, start), pf, positions, pos)) {
            for (int off = 0; off < wal.length; ) {
                int n = Math.min(wal.length - off, 70_000);
                w.append(start + off, wal, off, n);
                off += n;
            }
            assertEquals(wal.length, w.unsyncedBytes());
            assertEquals(start + wal.length, w.makeDurable());
            assertThrows(IllegalStateException.class, () -> w.append(start, wal, 0, 1), "an overlap is refused");
            assertThrows(IllegalStateException.class, () -> w.append(start + wal.length + 8, wal, 0, 1), "a gap is refused");
        }
        assertEquals(start + wal.length, pf.load().orElseThrow().flushedLsn());
        assertEquals(start + wal.length, positions.flushed());
        WalFiles files = new WalFiles(dir.resolve("wal"), SEGS, 1);
        assertArrayEquals(wal, files.read(start, start + wal.length));
        assertArrayEquals(Arrays.copyOfRange(wal, 1000, 2_000_000), files.read(start + 1000, start + 2_000_000));
        // The file for the second segment holds its bytes at offset (lsn % segment size).
        byte[] seg2 = Files.readAllBytes(files.segmentPath(2));
        assertEquals(1 << 20, seg2.length);
        assertArrayEquals(Arrays.copyOfRange(wal, (int) (0x200000L - start), (int) (0x300000L - start)), seg2);
        assertThrows(WalNotAvailableException.class, () -> files.read(0x900000L, 0x900010L));
    }

    /** A crash after the WAL fsync but before the position file: the files are ahead; resume rewrites the same bytes. */
    @Test
    void resumeToleratesFilesAheadOfThePositionFile() throws Exception {
        byte[] wal = new byte[300_000];
        new Random(2).nextBytes(wal);
        long start = 0x100000L;
        PositionFile pf = new PositionFile(dir);
        DurablePosition pos = new DurablePosition(42, 1, SEGS.segmentSize(), start, start);
        pf.store(pos.withFlushed(start + 100_000));
        try (LocalWal ahead = LocalWal.open(dir.resolve("wal"), SEGS, 1, start)) {
            ahead.write(start, wal, 0, wal.length);
            ahead.sync();
        }
        DurablePosition loaded = pf.load().orElseThrow();
        assertEquals(start + 100_000, loaded.flushedLsn());
        try (DurableWalWriter w = new DurableWalWriter(LocalWal.open(dir.resolve("wal"), SEGS, 1, loaded.flushedLsn()), pf,
                new WalPositions(), loaded)) {
            w.append(start + 100_000, wal, 100_000, 200_000);
            w.makeDurable();
        }
        assertArrayEquals(wal, new WalFiles(dir.resolve("wal"), SEGS, 1).read(start, start + wal.length));
        assertEquals(start + wal.length, pf.load().orElseThrow().flushedLsn());
        assertTrue(Files.notExists(dir.resolve(PositionFile.NAME + ".tmp")));
    }

    @Test
    void aFailedFsyncFailsTheLogForGoodEvenIfTheDiskRecovers() throws Exception {
        long start = 3L << 20; // the start of segment 3
        try (LocalWal wal = LocalWal.open(dir.resolve("wal"), SEGS, 1, start)) {
            byte[] data = new byte[4096];
            new Random(7).nextBytes(data);
            wal.write(start, data, 0, data.length);
            assertEquals(start + data.length, wal.sync());
            int[] calls = {0};
            wal.forceWith(ch -> {
                calls[0]++;
                throw new java.io.IOException("Input/output error (injected fsync failure)");
            });
            wal.write(start + data.length, data, 0, data.length);
            LocalWalFailedException failed = assertThrows(LocalWalFailedException.class, wal::sync);
            assertTrue(failed.getMessage().contains("injected fsync failure"), failed.getMessage());
            wal.forceWith(ch -> ch.force(false)); // the disk answers again: a later fsync must not count
            assertThrows(LocalWalFailedException.class, wal::sync);
            assertThrows(LocalWalFailedException.class, () -> wal.write(start + 2L * data.length, data, 0, data.length));
            assertEquals(1, calls[0]);
        }
    }
}
