package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.dbfs.pgformat.RelTag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmdbjava.Txn;

/** The version index's disk part: exact round trips, also while the garbage collector runs flat out. */
class PackedVersionsTest {
    static final RelTag REL = new RelTag(1663, 5, 16384, 0);

    @TempDir
    Path tmp;

    /**
     * lmdbjava's byte-array proxy hands LMDB a native copy of each key that the garbage collector may
     * free mid-call: under collections a put crashed the page server in mdb_put (a 256 MB heap,
     * pgbench -i). Every put and lookup here runs while another thread keeps collecting.
     */
    @Test
    void putsAndLookupsAreExactWhileTheCollectorRuns() throws Exception {
        AtomicBoolean done = new AtomicBoolean();
        Thread collector = Thread.ofPlatform().daemon().start(() -> {
            while (!done.get()) {
                System.gc();
            }
        });
        try (PackedVersions disk = PackedVersions.create(tmp.resolve("index"))) {
            PackedVersions.Table<RelTag> pages = disk.table("pages", PackedVersions.RELATIONS);
            int blocks = 5_000;
            for (int round = 0; round < 2; round++) {
                try (Txn<ByteBuffer> txn = disk.write()) {
                    for (int b = 0; b < blocks; b++) {
                        pages.put(txn, REL, b, Version.packed(1000L * round + b, round * blocks + b + 1L, round, b * 100L, 8000 + b));
                    }
                    txn.commit();
                }
            }
            for (int b = 0; b < blocks; b++) {
                Version[] v = pages.versions(REL, b);
                assertEquals(2, v.length, "block " + b);
                assertEquals(b, v[0].lsn());
                assertEquals(1000L + b, v[1].lsn());
                assertEquals(b * 100L, v[1].offset());
                assertEquals(8000 + b, v[1].length());
                assertEquals(1, v[1].segment());
            }
            assertNull(pages.versions(REL, blocks));
            try (Txn<ByteBuffer> txn = disk.read()) {
                assertEquals(blocks, pages.scan(txn, null, Integer.MAX_VALUE).size());
                assertEquals(10, pages.blocks(txn, REL, 100, 110).size());
            }
        } finally {
            done.set(true);
            collector.join();
        }
    }
}
