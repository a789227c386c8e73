package org.dbfs.pageserver.journal;

import static org.dbfs.pageserver.journal.JournalTest.CODEC;
import static org.dbfs.pageserver.journal.JournalTest.NO_ROLL;
import static org.dbfs.pageserver.journal.JournalTest.journalName;
import static org.dbfs.pageserver.journal.JournalTest.record;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.pageserver.format.JournalRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replay at open tells a torn last write, which it cuts, from damage with acknowledged records
 * after it, which it refuses without changing a byte.
 */
class JournalReplayTest {

    @TempDir
    Path dir;

    @Test
    void aFlippedBitInAMiddleFramesHeaderRefusesTheStartNamingFileAndPositionAndChangesNothing() throws IOException {
        Path file = writeRecords(5);
        byte[] intact = Files.readAllBytes(file);
        int third = headerPositions(intact).get(2);
        for (int bit = 0; bit < 64; bit++) { // the length, then its CRC
            byte[] damaged = intact.clone();
            damaged[third + bit / 8] ^= (byte) (1 << (bit % 8));
            Files.write(file, damaged);
            IntegrityException e = assertThrows(IntegrityException.class, this::open, "bit " + bit);
            assertRefusal(e, file, third);
            assertArrayEquals(damaged, Files.readAllBytes(file), "nothing cut (bit " + bit + ")");
        }
    }

    @Test
    void aFlippedBitInAMiddleFramesSealedBytesRefusesTheStart() throws IOException {
        Path file = writeRecords(5);
        byte[] bytes = Files.readAllBytes(file);
        int third = headerPositions(bytes).get(2);
        bytes[third + FrameHeader.BYTES + 40] ^= 0x10;
        Files.write(file, bytes);
        assertRefusal(assertThrows(IntegrityException.class, this::open), file, third);
        assertArrayEquals(bytes, Files.readAllBytes(file));
    }

    /** A block that reads back as zeros looks like the end of the records; the intact ones after it say otherwise. */
    @Test
    void zerosInPlaceOfAMiddleFramesHeaderRefuseTheStart() throws IOException {
        Path file = writeRecords(5);
        byte[] bytes = Files.readAllBytes(file);
        int third = headerPositions(bytes).get(2);
        Arrays.fill(bytes, third, third + FrameHeader.BYTES, (byte) 0);
        Files.write(file, bytes);
        IntegrityException e = assertThrows(IntegrityException.class, this::open);
        assertRefusal(e, file, third);
        assertTrue(e.getMessage().contains("the records end there"), e.getMessage());
    }

    @Test
    void damageInAFileBeforeTheLastRefusesTheStartEvenWithNoRecordAfterIt() throws IOException {
        try (Journal journal = Journal.open(dir, CODEC, NO_ROLL, (r, where) -> { })) {
            journal.append(record(0, new byte[100]));
            journal.append(record(1, new byte[100]));
            journal.roll(2);
            journal.awaitDurable(journal.append(record(2, new byte[100])).token());
        }
        Path first = dir.resolve(journalName(0));
        byte[] bytes = Files.readAllBytes(first);
        int second = headerPositions(bytes).get(1);
        bytes[second + FrameHeader.BYTES + 40] ^= 1;
        Files.write(first, bytes);
        IntegrityException e = assertThrows(IntegrityException.class, this::open);
        assertTrue(e.getMessage().contains(first.getFileName() + " is corrupt at position " + second), e.getMessage());
        assertTrue(e.getMessage().contains("not the last file"), e.getMessage());
    }

    /**
     * A crash during the last write: it reached the disk in part, and the rest of the file is the
     * zeros it was preallocated with. Either half of it may be what is missing.
     */
    @Test
    void aTornLastWriteIsCutAndTheRecordsBeforeItReplay() throws IOException {
        Path file = writeRecords(5);
        byte[] intact = Files.readAllBytes(file);
        int last = headerPositions(intact).get(4);
        int end = endOfRecords(intact);
        for (boolean headerWritten : new boolean[] {true, false}) {
            byte[] torn = intact.clone();
            if (headerWritten) {
                Arrays.fill(torn, (last + end) / 2, end, (byte) 0);
            } else {
                Arrays.fill(torn, last, last + FrameHeader.BYTES, (byte) 0);
            }
            Files.write(file, torn);
            assertEquals(List.of(0L, 1L, 2L, 3L), replayedSeqs(), "header written: " + headerWritten);
            if (headerWritten) {
                byte[] after = Files.readAllBytes(file);
                assertTrue(IntStream.range(last, after.length).allMatch(i -> after[i] == 0), "the torn write is zeroed");
            } // else the records already end at its header, and the next append overwrites what is left of it
        }
        try (Journal journal = open()) {
            journal.awaitDurable(journal.append(record(5, new byte[100])).token());
        }
        assertEquals(List.of(0L, 1L, 2L, 3L, 5L), replayedSeqs());
    }

    @Test
    void aFlippedBitInTheLastFilesEndMarkerCostsNoRecord() throws IOException {
        Path file = writeRecords(3);
        byte[] bytes = Files.readAllBytes(file);
        bytes[endOfRecords(bytes) + 2] ^= 4;
        Files.write(file, bytes);
        assertEquals(List.of(0L, 1L, 2L), replayedSeqs());
    }

    /**
     * The last file is a reused spare: past its records lie the old frames of its former name,
     * with headers whose CRCs fit that name. A torn write in front of them is still a torn tail.
     */
    @Test
    void aTornLastWriteInAReusedFileIsCutDespiteTheStaleFramesAfterIt() throws IOException {
        Random random = new Random(3);
        try (Journal journal = open()) {
            for (int seq = 0; seq < 24; seq++) {
                byte[] data = new byte[16 << 10];
                random.nextBytes(data);
                journal.append(record(seq, data));
            }
            journal.roll(24);
            journal.deleteUpTo(23);
            journal.awaitDurable(journal.append(record(24, new byte[100])).token());
            journal.roll(25);
            for (int seq = 25; seq < 28; seq++) {
                journal.append(record(seq, new byte[1000]));
            }
            journal.sync();
        }
        Path reused = dir.resolve(journalName(25));
        byte[] bytes = Files.readAllBytes(reused);
        int last = headerPositions(bytes).get(2);
        int end = endOfRecords(bytes);
        assertTrue(IntStream.range(end + FrameHeader.BYTES, end + 4096).anyMatch(i -> bytes[i] != 0),
                "the spare's old frames follow the records");
        Arrays.fill(bytes, (last + end) / 2, end, (byte) 0);
        Files.write(reused, bytes);
        assertEquals(List.of(24L, 25L, 26L), replayedSeqs());
    }

    /**
     * A ".gcm.journal" file (bare lengths, before frame headers had a CRC) still replays by its own
     * rules, its torn tail cut as before; the records after it go to a current-format file.
     */
    @Test
    void anOlderAesGcmFileReplaysByItsOwnRulesAndNewRecordsGoToACurrentFormatFile() throws IOException {
        String name = String.format("%020d.gcm.journal", 0);
        Path old = dir.resolve(name);
        long[] at = OlderFormatFiles.write(old, CODEC.journalFrames(name),
                LongStream.range(0, 4).mapToObj(seq -> record(seq, new byte[300])).toList());
        byte[] bytes = Files.readAllBytes(old);
        Arrays.fill(bytes, (int) at[3] + 100, bytes.length, (byte) 0); // the last write torn
        Files.write(old, bytes);
        try (Journal journal = open()) {
            journal.awaitDurable(journal.append(record(3, new byte[100])).token());
        }
        assertEquals(List.of(0L, 1L, 2L, 3L), replayedSeqs());
        assertEquals(List.of(name, journalName(3)), journalFileNames());
    }

    @Test
    void anOlderFormatLastFileWithoutRecordsIsReplacedAtItsSeq() throws IOException {
        OlderFormatFiles.write(dir.resolve(String.format("%020d.gcm.journal", 5)), null, List.of());
        try (Journal journal = open()) {
            journal.awaitDurable(journal.append(record(5, new byte[100])).token());
        }
        assertEquals(List.of(journalName(5)), journalFileNames());
        assertEquals(List.of(5L), replayedSeqs());
    }

    private Journal open() throws IOException {
        return Journal.open(dir, CODEC, NO_ROLL, (r, where) -> { });
    }

    /** Appends records 0 to {@code n - 1} to a new journal; its one file. */
    private Path writeRecords(int n) throws IOException {
        try (Journal journal = open()) {
            for (int seq = 0; seq < n; seq++) {
                journal.append(record(seq, new byte[200 + seq]));
            }
            journal.sync();
        }
        return dir.resolve(journalName(0));
    }

    private List<Long> replayedSeqs() throws IOException {
        List<Long> seen = new ArrayList<>();
        try (Journal ignored = Journal.open(dir, CODEC, NO_ROLL, (r, where) -> seen.add(r.getSeq()))) {
            return seen;
        }
    }

    private List<String> journalFileNames() throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".journal")).sorted().toList();
        }
    }

    private static void assertRefusal(IntegrityException e, Path file, int position) {
        String m = e.getMessage();
        assertTrue(m.contains(file.getFileName() + " is corrupt at position " + position), m);
        assertTrue(m.contains("not a torn last write"), m);
        assertTrue(m.contains("Keep a copy of") && m.contains("truncate -s " + position), "says what to do: " + m);
    }

    /** Where each record's header is, walking the lengths from the start to the zeros that end them. */
    private static List<Integer> headerPositions(byte[] file) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        List<Integer> positions = new ArrayList<>();
        for (int pos = 0, length; (length = b.getInt(pos)) != 0; pos += FrameHeader.BYTES + length) {
            positions.add(pos);
        }
        return positions;
    }

    private static int endOfRecords(byte[] file) {
        List<Integer> headers = headerPositions(file);
        int last = headers.getLast();
        return last + FrameHeader.BYTES + ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getInt(last);
    }
}
