package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pgformat.RelTag;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.junit.jupiter.api.Test;

/**
 * Unpacked writes live in the journal, not in memory: reads get them back from there, and after an
 * outage the packer moves them into the bucket a bounded chunk at a time, the namespace with the
 * last chunk. A crash between chunks loses nothing.
 */
class UnpackedWritesTest extends StoreTestBase {
    static final RelTag REL = new RelTag(1663, 5, 16400, 0);
    static final int BLOCKS = 200;
    static final long PACK_BYTES = 64 << 10; // chunks of one and a half of these: 12 pages

    void open(Path cacheDir) throws IOException {
        open(StoreOptions.defaults(cacheDir).withPacking(PACK_BYTES, Duration.ofDays(1)).withRecentWriteBytes(0));
    }

    void write(int block, String marker) throws IOException {
        store.commit(JournalRecord.newBuilder().addPages(PageVersionRecord.newBuilder().setRel(RelTagRecords.toRecord(REL))
                .setBlockNum(block).setLsn(100 + block).setData(ByteString.copyFrom(PageStoreTest.page(100 + block, marker)))), true);
    }

    void assertBlocks(String marker) {
        for (int b = 0; b < BLOCKS; b++) {
            assertEquals(b + marker, VersionIndexTest.marker(store.readPage(REL, b, 0).data()), "block " + b);
        }
    }

    /** Writes BLOCKS pages with the bucket down, and a file in the middle of them. */
    void writeDuringAnOutage() throws IOException {
        bucket.down = true;
        for (int b = 0; b < BLOCKS; b++) {
            write(b, b + "w");
            if (b == BLOCKS / 2) {
                new FileSystemOps(store).makeNode(MakeNodeRequest.newBuilder().setPath("/made-mid-outage")
                        .setType(NodeType.REGULAR).setMode(0600).build());
            }
        }
    }

    @Test
    void readsComeBackFromTheJournalAndTheBacklogIsPackedInChunks() throws IOException {
        open(tmp.resolve("cache"));
        writeDuringAnOutage();
        assertEquals(0, store.recentWriteBytes(), "with no room for recent writes, memory holds no page data");
        assertBlocks("w"); // every one read back from the journal

        bucket.down = false;
        store.packNow();
        int segments = store.segmentCount();
        assertTrue(segments >= (BLOCKS * 8192L) / (2 * PACK_BYTES), "a bounded chunk per segment: " + segments + " segments");
        assertEquals(0, store.pages.pinnedBlocks());
        assertEquals(store.lastSeq(), store.packedSeq());
        assertBlocks("w");

        store.drain();
        store.close();
        store = null;
        open(tmp.resolve("fresh-cache"));
        assertBlocks("w");
        assertEquals(0, new FileSystemOps(store).getAttr("/made-mid-outage").getErrno(), "the namespace came along");
    }

    @Test
    void aCrashBetweenChunksLosesNeitherBlocksNorNamespace() throws IOException {
        open(tmp.resolve("cache"));
        writeDuringAnOutage();
        bucket.down = false;
        bucket.refuseWritesUnder = BucketLayout.NAMESPACES; // the last chunk, which carries the namespace, fails
        assertThrows(RuntimeException.class, () -> store.packNow());
        assertTrue(store.packedSeq() > 0 && store.packedSeq() < store.lastSeq(),
                "chunks before the last one are in the bucket: packed " + store.packedSeq() + " of " + store.lastSeq());

        store.close(); // as a crash: nothing more is packed
        store = null;
        bucket.refuseWritesUnder = null;
        open(tmp.resolve("cache"));
        assertBlocks("w");
        assertEquals(0, new FileSystemOps(store).getAttr("/made-mid-outage").getErrno(),
                "namespace changes between the namespace object and the packed seq are replayed from the journal");
        store.drain();
        store.close();
        store = null;
        open(tmp.resolve("fresh-cache"));
        assertBlocks("w");
        assertEquals(0, new FileSystemOps(store).getAttr("/made-mid-outage").getErrno());
    }
}
