package org.dbfs.pageserver.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.dbfs.protocol.pageserver.v1.GetPagesReply;
import org.dbfs.protocol.pageserver.v1.GetPagesRequest;
import org.dbfs.protocol.pageserver.v1.PageRef;
import org.dbfs.protocol.pageserver.v1.PageWrite;
import org.dbfs.protocol.pageserver.v1.PutPagesRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bucket is the source of truth, tried through the real command line: a clean stop leaves it
 * complete for any cache directory; after kill -9 a start without the journal refuses (and never
 * listens), a start with it serves everything; one writer per bucket; an accepted journal loss
 * never mixes the lost journal back in.
 */
class WriterLifecycleTest {
    static final Map<String, String> ENV = Map.of("DBFS_PASSPHRASE", "lifecycle passphrase");
    static final int BLOCKS = 40;

    @TempDir
    Path tmp;

    /** Page server arguments on the test's bucket; nothing is packed unless a clean stop asks. */
    List<String> args(String cacheDir, String... more) {
        List<String> a = new ArrayList<>(List.of("--bucket", tmp.resolve("bucket").toUri().toString(),
                "--cache-dir", tmp.resolve(cacheDir).toString(), "--pack-bytes", "1000000000000",
                "--pack-interval-ms", "3600000"));
        a.addAll(List.of(more));
        return a;
    }

    record Exit(int code, String stdout, String stderr) {}

    /** Runs a page server expected to refuse: its exit code and what it printed. */
    Exit runRefused(List<String> args) throws Exception {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("--listen", "127.0.0.1:0"));
        ProcessBuilder pb = PageServerProcess.command(all, ENV, tmp.resolve("logs"));
        Path stdout = tmp.resolve("logs").resolve("stdout-" + System.nanoTime() + ".log");
        pb.redirectOutput(stdout.toFile());
        Process p = pb.start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the page server started instead of refusing: " + Files.readString(stdout));
        }
        return new Exit(p.exitValue(), Files.readString(stdout), Files.readString(pb.redirectError().file().toPath()));
    }

    static void write(PageServerProcess ps, long lsn) {
        PutPagesRequest.Builder req = PutPagesRequest.newBuilder().setDurable(true);
        for (int b = 0; b < BLOCKS; b++) {
            req.addPages(PageWrite.newBuilder().setPage(PageRef.newBuilder().setRel(PageServerCrashTest.REL).setBlockNum(b))
                    .setLsn(lsn).setData(ByteString.copyFrom(PageServerCrashTest.page(b, lsn))));
        }
        ps.client().putPages(req.build());
    }

    /** Every block reads back as last written at {@code lsn}; 0: every block absent. */
    static void assertState(PageServerProcess ps, long lsn) {
        GetPagesRequest.Builder req = GetPagesRequest.newBuilder();
        for (int b = 0; b < BLOCKS; b++) {
            req.addPages(PageRef.newBuilder().setRel(PageServerCrashTest.REL).setBlockNum(b));
        }
        GetPagesReply reply = ps.client().getPages(req.build());
        for (int b = 0; b < BLOCKS; b++) {
            if (lsn == 0) {
                assertTrue(reply.getPages(b).getAbsent(), "block " + b + " should be absent");
            } else {
                assertEquals(lsn, reply.getPages(b).getLsn(), "block " + b);
                assertEquals(ByteString.copyFrom(PageServerCrashTest.page(b, lsn)), reply.getPages(b).getData());
            }
        }
    }

    String journalId(String cacheDir) throws Exception {
        return Files.readString(tmp.resolve(cacheDir).resolve("journal/IDENTITY")).strip();
    }

    @Test
    void aCleanStopLeavesTheBucketCompleteForAnEmptyCacheDirectory() throws Exception {
        PageServerProcess first = PageServerProcess.start(args("cache-1"), ENV, tmp.resolve("logs"));
        write(first, 100);
        write(first, 200); // nothing packed yet: only the journal has these
        assertEquals(0, first.stopCleanly(), first.stderr());
        assertTrue(first.stderr().contains("clean stop: packed " + 2 * BLOCKS + " versions"),
                "logs what it packed (two writes of every block): " + first.stderr());
        try (PageServerProcess second = PageServerProcess.start(args("cache-2"), ENV, tmp.resolve("logs"))) {
            assertState(second, 200);
        }
    }

    @Test
    void afterKill9AStartWithoutTheJournalRefusesAndAStartWithItServesEverything() throws Exception {
        PageServerProcess first = PageServerProcess.start(args("cache-1"), ENV, tmp.resolve("logs"));
        write(first, 100);
        first.kill9();

        Exit refused = runRefused(args("cache-2"));
        assertEquals(7, refused.code(), refused.stderr());
        assertFalse(refused.stdout().contains("listening"), "never listens: " + refused.stdout());
        assertTrue(refused.stderr().contains(journalId("cache-1")), "names the missing journal: " + refused.stderr());
        assertTrue(refused.stderr().contains(tmp.resolve("cache-1").toString()), refused.stderr());
        assertTrue(refused.stderr().contains("packed up to journal seq"), refused.stderr());
        assertTrue(refused.stderr().contains("--accept-journal-loss"), "says what to do: " + refused.stderr());
        assertFalse(refused.stderr().contains("\tat "), "no stack trace:\n" + refused.stderr());

        PageServerProcess again = PageServerProcess.start(args("cache-1"), ENV, tmp.resolve("logs"));
        assertState(again, 100);
        assertEquals(0, again.stopCleanly(), again.stderr());
        try (PageServerProcess elsewhere = PageServerProcess.start(args("cache-2"), ENV, tmp.resolve("logs"))) {
            assertState(elsewhere, 100);
        }
    }

    @Test
    void aSecondPageServerOnTheSameBucketRefusesAndTheFirstKeepsWriting() throws Exception {
        try (PageServerProcess first = PageServerProcess.start(args("cache-1"), ENV, tmp.resolve("logs"))) {
            write(first, 100);
            Exit refused = runRefused(args("cache-2"));
            assertEquals(7, refused.code(), refused.stderr());
            assertTrue(refused.stderr().contains("another page server is writing"), refused.stderr());
            assertTrue(refused.stderr().contains(tmp.resolve("cache-1").toString()), "names the holder: " + refused.stderr());
            write(first, 200);
            assertState(first, 200);
        }
    }

    @Test
    void anAcceptedJournalLossStartsOnThePackedStateAndTheLostJournalIsNeverReplayed() throws Exception {
        PageServerProcess first = PageServerProcess.start(args("cache-1", "--lease-ttl-ms", "1500"), ENV, tmp.resolve("logs"));
        for (long lsn = 100; lsn <= 500; lsn += 100) {
            write(first, lsn); // journal seqs beyond anything the next writer will pack
        }
        first.kill9();

        // The dead writer's lease runs out after 1.5 s; until then even an accepted loss is refused.
        PageServerProcess second = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (second == null) {
            try {
                second = PageServerProcess.start(args("cache-2", "--accept-journal-loss"), ENV, tmp.resolve("logs"));
            } catch (java.io.IOException e) {
                assertTrue(e.getMessage().contains("another page server is writing"), e.getMessage());
                assertTrue(System.nanoTime() < deadline, "the dead writer's lease never expired");
            }
        }
        assertTrue(second.stderr().contains("ACCEPTING JOURNAL LOSS"), second.stderr());
        assertState(second, 0); // the lost writes are gone, loudly
        write(second, 150);
        assertEquals(0, second.stopCleanly(), second.stderr());

        // The old cache directory comes back: its journal is set aside, not mixed into the new history.
        try (PageServerProcess old = PageServerProcess.start(args("cache-1"), ENV, tmp.resolve("logs"))) {
            assertState(old, 150);
            assertTrue(old.stderr().contains("moved them to"), old.stderr());
        }
        try (Stream<Path> s = Files.list(tmp.resolve("cache-1"))) {
            assertTrue(s.anyMatch(p -> p.getFileName().toString().startsWith("journal-set-aside-")));
        }
    }
}
