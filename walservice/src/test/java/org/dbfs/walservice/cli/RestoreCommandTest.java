package org.dbfs.walservice.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.dbfs.bucket.BucketLayout.WalArchiveObject;
import org.dbfs.bucket.cli.ExitCodes;
import org.dbfs.bucket.crypto.BucketKeys;
import org.dbfs.bucket.objectstore.LocalObjectStore;
import org.dbfs.pgformat.wal.XLogPageHeader;
import org.dbfs.walservice.archive.ArchiveCatalog;
import org.dbfs.walservice.archive.WalArchiver;
import org.dbfs.walservice.wal.DurablePosition;
import org.dbfs.walservice.wal.WalPositions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code walservice restore} against an archive the real {@link WalArchiver} wrote to a
 * local-directory bucket, with 1 MiB segments: WAL from inside segment 1 (the archive's start) to
 * inside segment 3 (its end, the newest segment), segment 2 in three objects.
 */
class RestoreCommandTest {
    static final String PASSPHRASE = "restore test passphrase";
    static final int SEG = 1 << 20;
    static final long START = SEG + 8192;
    static final long END = 3L * SEG + 5000;
    static final long[] CUTS = {2L * SEG + 100_000, 2L * SEG + 200_000, END};

    @TempDir
    Path dir;

    Path bucket;
    Path passphraseFile;
    Path out;
    final byte[] wal = new byte[(int) (END - START)];

    @BeforeEach
    void archive() throws Exception {
        bucket = dir.resolve("bucket");
        passphraseFile = Files.writeString(dir.resolve("passphrase"), PASSPHRASE + "\n");
        out = Files.createDirectories(dir.resolve("pg_wal")).resolve("RECOVERYXLOG");
        new Random(5).nextBytes(wal);
        for (long seg = 2 * SEG; seg < END; seg += SEG) {
            writeLongPageHeader(seg);
        }
        try (LocalObjectStore store = new LocalObjectStore(bucket)) {
            WalPositions positions = new WalPositions();
            positions.layout(new DurablePosition(7, 1, SEG, START, START));
            WalArchiver archiver = new WalArchiver(store, BucketKeys.openOrCreate(store, PASSPHRASE.toCharArray()), 1, positions,
                    (s, e) -> Arrays.copyOfRange(wal, (int) (s - START), (int) (e - START)), null);
            archiver.recover(org.dbfs.walservice.archive.TimelineHistory.FIRST);
            for (long cut : CUTS) { // each drain ends an object, so segment 2 is cut where a gap can be made
                positions.flushed(cut);
                archiver.drain();
            }
        }
    }

    /** XLogLongPageHeaderData at a segment's first byte, as XLogReaderValidatePageHeader wants it. */
    private void writeLongPageHeader(long segmentStart) {
        ByteBuffer b = ByteBuffer.wrap(wal, (int) (segmentStart - START), XLogPageHeader.SizeOfXLogLongPHD).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) XLogPageHeader.XLOG_PAGE_MAGIC).putShort((short) XLogPageHeader.XLP_LONG_HEADER).putInt(1)
                .putLong(segmentStart).putInt(0).putInt(0).putLong(7).putInt(SEG).putInt(XLogPageHeader.XLOG_BLCKSZ);
    }

    record Run(int exit, String stderr) {}

    private Run restore(String walFileName) {
        return restore(walFileName, SEG);
    }

    private Run restore(String walFileName, int segmentSize) {
        StringWriter err = new StringWriter();
        int exit = WalServiceCli.commandLine().setErr(new PrintWriter(err, true)).execute("restore", "--bucket", bucket.toUri().toString(),
                "--passphrase-file", passphraseFile.toString(), "--segment-size", Integer.toString(segmentSize), walFileName, out.toString());
        return new Run(exit, err.toString());
    }

    private byte[] walOf(long from, long to) {
        return Arrays.copyOfRange(wal, (int) (from - START), (int) (to - START));
    }

    private void assertNothingWritten(Run r) throws Exception {
        assertFalse(Files.exists(out), "no file for a failed restore: " + r);
        try (var files = Files.list(out.getParent())) {
            assertEquals(List.of(), files.toList(), "no temp file either");
        }
    }

    @Test
    void aWholeSegmentIsWrittenByteForByteOverWhateverWasThere() throws Exception {
        Files.write(out, new byte[] {1, 2, 3});
        Run r = restore("000000010000000000000002");
        assertEquals(0, r.exit(), r.stderr());
        assertArrayEquals(walOf(2L * SEG, 3L * SEG), Files.readAllBytes(out), "segment 2 from its three objects");
        assertTrue(r.stderr().contains("restored 000000010000000000000002") && r.stderr().contains("the whole segment"), r.stderr());
        assertFalse(Files.exists(out.resolveSibling("RECOVERYXLOG.tmp")));
    }

    @Test
    void theNewestSegmentIsWhatIsArchivedZeroPaddedToTheSegmentSize() throws Exception {
        Run r = restore("000000010000000000000003");
        assertEquals(0, r.exit(), r.stderr());
        byte[] got = Files.readAllBytes(out);
        assertEquals(SEG, got.length);
        assertArrayEquals(walOf(3L * SEG, END), Arrays.copyOf(got, (int) (END - 3L * SEG)), "the archived prefix");
        assertArrayEquals(new byte[(int) (4L * SEG - END)], Arrays.copyOfRange(got, (int) (END - 3L * SEG), SEG), "zeros after it");
        assertTrue(r.stderr().contains("partial, 0/300000..0/301388"), r.stderr());
    }

    @Test
    void segmentsTheArchiveDoesNotHoldFromTheirFirstByteExit1WithoutAFile() throws Exception {
        for (String name : List.of("000000010000000000000004", "000000010000000000000000", "000000010000000000000001")) {
            Run r = restore(name);
            assertEquals(RestoreCommand.NOT_IN_ARCHIVE, r.exit(), r.stderr());
            assertTrue(r.stderr().contains(name + " is not in the archive"), r.stderr());
            assertEquals(1, r.stderr().lines().count(), r.stderr());
            assertNothingWritten(r);
        }
        assertTrue(restore("000000010000000000000001").stderr().contains("the archive starts at 0/102000"));
        assertTrue(restore("000000010000000000000004").stderr().contains("the archive ends at 0/301388"));
    }

    @Test
    void timelinesTheServiceNeverFollowedAreNotInTheArchive() throws Exception {
        for (String name : List.of("00000002.history", "000000020000000000000002")) {
            Run r = restore(name);
            assertEquals(RestoreCommand.NOT_IN_ARCHIVE, r.exit(), name + ": " + r.stderr());
            assertTrue(r.stderr().contains("timeline"), r.stderr());
            assertNothingWritten(r);
        }
    }

    @Test
    void namesThatAreNotSegmentsExit1WithoutOpeningTheBucket() throws Exception {
        bucket = dir.resolve("never-opened");
        for (String name : List.of("000000010000000000000002.00000028.backup", "000000010000000000000002.partial",
                "000000010000000000001000", "00000001000000000000000a")) {
            Run r = restore(name);
            assertEquals(RestoreCommand.NOT_IN_ARCHIVE, r.exit(), name + ": " + r.stderr());
            assertEquals(1, r.stderr().lines().count(), r.stderr());
            assertNothingWritten(r);
        }
        assertFalse(Files.exists(bucket), "no bucket was opened (or created)");
    }

    @Test
    void aGapInsideTheSegmentFailsWithoutAFile() throws Exception {
        try (LocalObjectStore store = new LocalObjectStore(bucket)) {
            store.delete(new WalArchiveObject(1, CUTS[0], CUTS[1]).name());
        }
        Run r = restore("000000010000000000000002");
        assertEquals(ExitCodes.CORRUPT, r.exit(), r.stderr());
        assertTrue(r.stderr().contains("not contiguous") && r.stderr().contains("0/2186A0..0/230D40"), r.stderr());
        assertNothingWritten(r);
        assertEquals(0, restore("000000010000000000000003").exit(), "the segments around the gap still restore");
    }

    @Test
    void aCorruptObjectFailsWithoutAFile() throws Exception {
        try (LocalObjectStore store = new LocalObjectStore(bucket)) {
            WalArchiveObject name = ArchiveCatalog.list(store, 1).objects().get(2);
            byte[] frame = store.get(name.name());
            frame[frame.length / 2] ^= 1;
            store.put(name.name(), frame);
        }
        Run r = restore("000000010000000000000002");
        assertEquals(ExitCodes.CORRUPT, r.exit(), r.stderr());
        assertNothingWritten(r);
    }

    @Test
    void aWrongPassphraseExits2WithoutAFile() throws Exception {
        Files.writeString(passphraseFile, "not the passphrase\n");
        Run r = restore("000000010000000000000002");
        assertEquals(ExitCodes.WRONG_PASSPHRASE, r.exit(), r.stderr());
        assertNothingWritten(r);
    }

    @Test
    void anUnreachableBucketExits3WithoutAFile() throws Exception {
        bucket = Files.writeString(dir.resolve("a-file"), "x").resolve("bucket");
        Run r = restore("000000010000000000000002");
        assertEquals(ExitCodes.BUCKET_UNAVAILABLE, r.exit(), r.stderr());
        assertNothingWritten(r);
    }

    @Test
    void aSegmentSizeOtherThanTheArchivedWalsFailsWithoutAFile() throws Exception {
        // 2 MiB segment 1 is [0/200000, 0/400000): archived up to the archive's end, but its first page
        // header is the one of a 1 MiB segment
        Run r = restore("000000010000000000000001", 2 * SEG);
        assertEquals(ExitCodes.CORRUPT, r.exit(), r.stderr());
        assertTrue(r.stderr().contains("incorrect segment size in page header"), r.stderr());
        assertNothingWritten(r);
    }
}
