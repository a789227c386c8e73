package org.dbfs.pageserver.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.pageserver.format.FileBlockRecord;
import org.dbfs.pageserver.format.JournalRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalTest {

    static final FrameCodec CODEC = FrameCodec.forKey(new byte[32]);
    static final long NO_ROLL = 1L << 40;

    @TempDir
    Path dir;

    static JournalRecord record(long seq, byte[] data) {
        return JournalRecord.newBuilder().setSeq(seq)
                .addFileBlocks(FileBlockRecord.newBuilder().setIno(7).setBlock(seq).setData(ByteString.copyFrom(data)))
                .build();
    }

    private List<JournalRecord> replay() throws IOException {
        List<JournalRecord> seen = new ArrayList<>();
        try (Journal ignored = Journal.open(dir, CODEC, NO_ROLL, (r, where) -> seen.add(r))) {
            return seen;
        }
    }

    @Test
    void recordsAcrossSeveralPreallocatedExtentsReplayInOrder() throws IOException {
        Random random = new Random(42);
        List<byte[]> payloads = new ArrayList<>();
        try (Journal journal = Journal.open(dir, CODEC, NO_ROLL, (r, where) -> { })) {
            long token = 0;
            // ~20 MiB of incompressible records: past two extents, so appends cross the
            // background-zeroed ones and, when writes outrun it, zero their own.
            for (int seq = 0; seq < 160; seq++) {
                byte[] data = new byte[128 << 10];
                random.nextBytes(data);
                payloads.add(data);
                token = journal.append(record(seq, data)).token();
            }
            journal.awaitDurable(token);
        }
        List<JournalRecord> seen = replay();
        assertEquals(payloads.size(), seen.size());
        for (int i = 0; i < seen.size(); i++) {
            assertEquals(i, seen.get(i).getSeq());
            assertArrayEquals(payloads.get(i), seen.get(i).getFileBlocks(0).getData().toByteArray());
        }
    }

    /**
     * Blocking callers fsync themselves (leader) or wait for the fsync under way (follower), while
     * asynchronous waiters are answered by the sync thread or by a leader's fsync: every caller
     * returns, each once its own record is durable, and every record replays.
     */
    @Test
    void leadersFollowersAndAsyncWaitersAllGetTheirDurability() throws Exception {
        int threads = 6;
        int perThread = 200;
        List<java.util.concurrent.CompletableFuture<Void>> async = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicLong seq = new java.util.concurrent.atomic.AtomicLong();
        // A record is durable only once a force that started after its append has returned, so at
        // least one force must have returned between the start of its append and its durability.
        java.util.concurrent.atomic.AtomicLong forcesDone = new java.util.concurrent.atomic.AtomicLong();
        List<String> early = java.util.Collections.synchronizedList(new ArrayList<>());
        try (Journal journal = Journal.open(dir, CODEC, NO_ROLL, (r, where) -> { })) {
            journal.forceWith((ch, meta) -> {
                ch.force(meta);
                forcesDone.incrementAndGet();
            });
            List<Thread> workers = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < threads; t++) {
                boolean blocking = t % 2 == 0;
                workers.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int i = 0; i < perThread; i++) {
                            long token;
                            long record;
                            long doneBefore = forcesDone.get();
                            synchronized (seq) { // records in seq order, as the page store appends them
                                record = seq.getAndIncrement();
                                token = journal.append(record(record, new byte[100])).token();
                            }
                            if (blocking) {
                                journal.awaitDurable(token);
                                if (forcesDone.get() <= doneBefore) {
                                    early.add("record " + record + " (awaitDurable)");
                                }
                            } else {
                                async.add(journal.whenDurable(token).thenRun(() -> {
                                    if (forcesDone.get() <= doneBefore) {
                                        early.add("record " + record + " (whenDurable)");
                                    }
                                }));
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            for (Thread w : workers) {
                w.join(60_000);
            }
            assertTrue(failures.isEmpty(), failures.toString());
            java.util.concurrent.CompletableFuture.allOf(async.toArray(java.util.concurrent.CompletableFuture[]::new))
                    .get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(early.isEmpty(), "durable before any force after their append returned: " + early);
            assertTrue(forcesDone.get() < threads * perThread, "fsyncs were shared (" + forcesDone.get() + " for "
                    + threads * perThread + " records)");
        }
        assertEquals(threads * perThread, replay().size());
    }

    /**
     * A journal file written before AES-GCM (".journal", XChaCha20-Poly1305 frames) replays, and
     * records after it go to a file of the current format (".crc.journal"); a frame moved to
     * another file does not open there (each file has its own key).
     */
    @Test
    void anOlderXChaChaJournalFileReplaysAndNewRecordsGoToACurrentFormatFile() throws IOException {
        Path old = dir.resolve(String.format("%020d.journal", 0));
        OlderFormatFiles.write(old, CODEC.uncompressed(), List.of(record(0, new byte[] {0}), record(1, new byte[] {1}),
                record(2, new byte[] {2})));
        try (Journal journal = Journal.open(dir, CODEC, NO_ROLL, (r, where) -> { })) {
            journal.awaitDurable(journal.append(record(3, new byte[] {3})).token());
            journal.roll(4);
            journal.awaitDurable(journal.append(record(4, new byte[] {4})).token());
        }
        List<JournalRecord> seen = replay();
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), seen.stream().map(JournalRecord::getSeq).toList());
        try (var files = Files.list(dir)) {
            assertEquals(List.of(String.format("%020d.journal", 0), journalName(3), journalName(4)),
                    files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".journal")).sorted().toList());
        }
        byte[] sealed = CODEC.journalFrames("a.gcm.journal").seal(new byte[] {1, 2, 3}, new byte[] {9});
        assertArrayEquals(new byte[] {1, 2, 3}, CODEC.journalFrames("a.gcm.journal").open(sealed, new byte[] {9}, "a"));
        org.junit.jupiter.api.Assertions.assertThrows(org.dbfs.bucket.crypto.IntegrityException.class,
                () -> CODEC.journalFrames("b.gcm.journal").open(sealed, new byte[] {9}, "b"));
    }

    @Test
    void theNextExtentIsZeroedBeforeAppendsNeedIt() throws IOException, InterruptedException {
        try (Journal journal = Journal.open(dir, CODEC, NO_ROLL, (r, where) -> { })) {
            Path file;
            try (var files = Files.list(dir)) {
                file = files.filter(p -> p.toString().endsWith(".journal")).findFirst().orElseThrow();
            }
            assertEquals(Journal.EXTENT_BYTES, Files.size(file));
            byte[] data = new byte[64 << 10];
            new Random(1).nextBytes(data);
            long token = 0;
            for (int seq = 0; seq < 72; seq++) { // ~4.5 MiB: past half of the first extent
                token = journal.append(record(seq, data)).token();
            }
            journal.awaitDurable(token);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (Files.size(file) < 2L * Journal.EXTENT_BYTES && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(2L * Journal.EXTENT_BYTES, Files.size(file), "the second extent is preallocated in the background");
        }
        assertEquals(72, replay().size());
    }

    @Test
    void aTornLastRecordIsCutOffAndAppendsContinueAfterTheRest() throws IOException {
        try (Journal journal = Journal.open(dir, CODEC, NO_ROLL, (r, where) -> { })) {
            journal.awaitDurable(journal.append(record(0, new byte[100])).token());
            journal.awaitDurable(journal.append(record(1, new byte[100])).token());
        }
        Path file;
        try (var files = Files.list(dir)) {
            file = files.filter(p -> p.toString().endsWith(".journal")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(file);
        int secondFrameAt = 4 + java.nio.ByteBuffer.wrap(bytes, 0, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
        bytes[secondFrameAt + 20] ^= 1; // the unacknowledged tail of a crash
        Files.write(file, bytes);
        try (Journal journal = Journal.open(dir, CODEC, NO_ROLL, (r, where) -> { })) {
            journal.awaitDurable(journal.append(record(2, new byte[100])).token());
        }
        assertEquals(List.of(0L, 2L), replay().stream().map(JournalRecord::getSeq).toList());
    }

    @Test
    void packedFilesAreReusedUnzeroedAndTheirOldFramesNeverReplay() throws IOException {
        Random random = new Random(7);
        byte[] small = new byte[100];
        try (Journal journal = Journal.open(dir, CODEC, NO_ROLL, (r, where) -> { })) {
            long token = 0;
            for (int seq = 0; seq < 24; seq++) { // ~3 MiB of old frames
                byte[] data = new byte[128 << 10];
                random.nextBytes(data);
                token = journal.append(record(seq, data)).token();
            }
            journal.awaitDurable(token);
            journal.roll(24);
            journal.deleteUpTo(23);
            assertEquals(List.of(journalName(0) + ".spare", journalName(24)), fileNames());

            journal.awaitDurable(journal.append(record(24, small)).token());
            journal.awaitDurable(journal.append(record(25, small)).token());
            journal.roll(26);
            assertEquals(List.of(journalName(24), journalName(26)), fileNames(), "the spare became the next file");
            assertEquals(Journal.EXTENT_BYTES, Files.size(dir.resolve(journalName(26))));
            journal.awaitDurable(journal.append(record(26, small)).token());

            journal.deleteUpTo(25);
            journal.roll(27);
            journal.awaitDurable(journal.append(record(27, small)).token());
            assertEquals(List.of(journalName(26), journalName(27)), fileNames());
        }
        byte[] reused = Files.readAllBytes(dir.resolve(journalName(26)));
        int end = FrameHeader.BYTES + java.nio.ByteBuffer.wrap(reused, 0, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
        assertEquals(0, java.nio.ByteBuffer.wrap(reused, end, 8).getLong(), "a zero header ends the records");
        assertTrue(java.util.stream.IntStream.range(end + FrameHeader.BYTES, end + 4096).anyMatch(i -> reused[i] != 0),
                "not zeroed again: the old frames are still there");
        // File 26 is not the last one: its old frames after the end must not read as corruption.
        assertEquals(List.of(26L, 27L), replay().stream().map(JournalRecord::getSeq).toList());

        // A torn record in a reused last file, with old frames after it, is cut like any torn tail.
        Path last = dir.resolve(journalName(27));
        byte[] bytes = Files.readAllBytes(last);
        bytes[30] ^= 1;
        Files.write(last, bytes);
        assertEquals(List.of(26L), replay().stream().map(JournalRecord::getSeq).toList());
    }

    static String journalName(long firstSeq) {
        return String.format("%020d.crc.journal", firstSeq);
    }

    private List<String> fileNames() throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** A disk whose fsyncs (of the kind {@code meta} picks: true, false or null for both) fail from the {@code n}th on. */
    private static Journal.Forcer failingFrom(int n, Boolean meta, java.util.concurrent.atomic.AtomicInteger calls) {
        return (ch, metaData) -> {
            if ((meta == null || meta == metaData) && calls.incrementAndGet() >= n) {
                throw new IOException("Input/output error (injected fsync failure)");
            }
            ch.force(metaData);
        };
    }

    @Test
    void aFailedFsyncFailsEveryLaterWriteAndWaitForGood() throws Exception {
        var calls = new java.util.concurrent.atomic.AtomicInteger();
        List<IOException> reported = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (Journal journal = Journal.open(dir, CODEC, NO_ROLL, (r, where) -> { })) {
            journal.onFsyncFailure(reported::add);
            journal.awaitDurable(journal.append(record(1, new byte[100])).token());
            journal.forceWith(failingFrom(2, null, calls));
            journal.awaitDurable(journal.append(record(2, new byte[100])).token()); // the first fsync after still succeeds
            long token = journal.append(record(3, new byte[100])).token();
            IOException failed = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> journal.awaitDurable(token));
            assertTrue(failed.getMessage().contains("injected fsync failure"), failed.getMessage());
            journal.forceWith(FileChannel::force); // the disk is fine again: too late, the journal stays failed
            org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> journal.append(record(4, new byte[100])));
            org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> journal.whenDurable(token).get());
            assertTrue(journal.failed());
            assertEquals(1, reported.size(), "reported once: " + reported);
        }
        assertEquals(List.of(1L, 2L, 3L), replay().stream().map(JournalRecord::getSeq).toList(),
                "what reached the disk replays; record 3 was never acknowledged");
    }

    @Test
    void aFailedPreallocationFsyncFailsTheJournalTooThoughLaterFsyncsWouldSucceed() throws Exception {
        var calls = new java.util.concurrent.atomic.AtomicInteger();
        try (Journal journal = Journal.open(dir, CODEC, NO_ROLL, (r, where) -> { })) {
            List<IOException> reported = new java.util.concurrent.CopyOnWriteArrayList<>();
            var firstReport = new java.util.concurrent.CompletableFuture<IOException>();
            journal.onFsyncFailure(e -> {
                reported.add(e);
                firstReport.complete(e);
            });
            journal.forceWith(failingFrom(1, true, calls)); // only fsync with metadata (preallocation) fails
            byte[] data = new byte[64 << 10];
            long token = 0;
            IOException failed = null;
            for (int seq = 0; seq < 200 && failed == null; seq++) { // past half an extent: the background preallocation runs
                try {
                    token = journal.append(record(seq, data)).token();
                    journal.awaitDurable(token);
                } catch (IOException e) {
                    failed = e;
                }
            }
            assertTrue(failed != null, "a write after the failed preallocation fsync failed");
            assertTrue(calls.get() >= 1);
            assertTrue(journal.failed());
            // The failure is set before it is reported, on the preallocating thread: wait for the report.
            assertTrue(firstReport.get(30, java.util.concurrent.TimeUnit.SECONDS).getMessage().contains("injected"));
            assertEquals(1, reported.size());
            long last = token;
            org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> journal.awaitDurable(last + 1));
        }
    }
}
