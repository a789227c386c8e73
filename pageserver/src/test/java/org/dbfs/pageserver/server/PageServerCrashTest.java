package org.dbfs.pageserver.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.dbfs.protocol.pageserver.v1.GetPagesReply;
import org.dbfs.protocol.pageserver.v1.GetPagesRequest;
import org.dbfs.protocol.pageserver.v1.PageImage;
import org.dbfs.protocol.pageserver.v1.PageRef;
import org.dbfs.protocol.pageserver.v1.PageWrite;
import org.dbfs.protocol.pageserver.v1.PutPagesRequest;
import org.dbfs.protocol.pageserver.v1.RelTag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kill -9 of a page server in the middle of acknowledged writes loses none of them. */
class PageServerCrashTest {
    static final RelTag REL = RelTag.newBuilder().setSpcNode(1663).setDbNode(5).setRelNode(16400).build();

    @TempDir
    Path tmp;

    static byte[] page(int writer, long lsn) {
        ByteBuffer b = ByteBuffer.allocate(8192);
        b.putLong(0, lsn).putInt(100, writer).putLong(104, lsn * 31 + writer);
        return b.array();
    }

    @Test
    void everyAcknowledgedWriteSurvivesKill9() throws Exception {
        // Small packs so that the kill also lands between packing steps, not only in the journal.
        List<String> args = List.of("--bucket", tmp.resolve("bucket").toUri().toString(), "--cache-dir",
                tmp.resolve("cache").toString(), "--pack-bytes", "200000", "--pack-interval-ms", "200");
        Map<String, String> env = Map.of("DBFS_PASSPHRASE", "crash test passphrase");
        Map<Integer, Long> acked = new ConcurrentHashMap<>(); // block -> last acknowledged lsn
        int writers = 4;
        CountDownLatch enough = new CountDownLatch(400);
        AtomicBoolean stop = new AtomicBoolean();
        try (PageServerProcess ps = PageServerProcess.start(args, env, tmp.resolve("logs"))) {
            Thread[] threads = new Thread[writers];
            for (int w = 0; w < writers; w++) {
                int writer = w;
                threads[w] = new Thread(() -> {
                    var client = ps.client();
                    for (long lsn = 1; !stop.get(); lsn++) {
                        int block = writer * 1000 + (int) (lsn % 50); // blocks are rewritten with rising LSNs
                        try {
                            client.putPages(PutPagesRequest.newBuilder().setDurable(true).addPages(PageWrite.newBuilder()
                                    .setPage(PageRef.newBuilder().setRel(REL).setBlockNum(block)).setLsn(lsn)
                                    .setData(ByteString.copyFrom(page(writer, lsn)))).build());
                        } catch (RuntimeException e) {
                            return; // the kill
                        }
                        acked.put(block, lsn);
                        enough.countDown();
                    }
                });
                threads[w].start();
            }
            enough.await();
            ps.kill9();
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
        }
        assertFalse(acked.isEmpty());
        try (PageServerProcess ps = PageServerProcess.start(args, env, tmp.resolve("logs"))) {
            GetPagesRequest.Builder req = GetPagesRequest.newBuilder();
            List<Integer> blocks = List.copyOf(acked.keySet());
            for (int block : blocks) {
                req.addPages(PageRef.newBuilder().setRel(REL).setBlockNum(block));
            }
            GetPagesReply reply = ps.client().getPages(req.build());
            for (int i = 0; i < blocks.size(); i++) {
                PageImage image = reply.getPages(i);
                long ackedLsn = acked.get(blocks.get(i));
                assertFalse(image.getAbsent(), "block " + blocks.get(i) + " lost");
                // A write in flight at the kill may have landed too: never older than acknowledged.
                assertTrue(image.getLsn() >= ackedLsn, "block " + blocks.get(i) + " went back from " + ackedLsn
                        + " to " + image.getLsn());
                int writer = blocks.get(i) / 1000;
                assertEquals(ByteString.copyFrom(page(writer, image.getLsn())), image.getData());
            }
        }
    }
}
