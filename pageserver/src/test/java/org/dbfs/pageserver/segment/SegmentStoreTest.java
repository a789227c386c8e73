package org.dbfs.pageserver.segment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.LocalObjectStore;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.pageserver.format.SegmentEntry;
import org.dbfs.pageserver.format.SegmentRef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegmentStoreTest {
    private static final FrameCodec CODEC = FrameCodec.forKey(new byte[32]);

    @TempDir
    Path tmp;

    /**
     * A flipped bit anywhere in a segment object (header, frames, footer, trailer) fails the read
     * that meets it, naming the object; nothing read from it differs from what was written.
     */
    @Test
    void aFlippedBitAnywhereInASegmentObjectFailsItsReadNamingTheObject() throws IOException {
        String name = new BucketLayout.Segment(1, 3, 1).name();
        Random random = new Random(5);
        List<byte[]> written = new ArrayList<>();
        SegmentWriter writer = new SegmentWriter(name, CODEC);
        for (int block = 0; block < 3; block++) {
            byte[] data = new byte[100];
            random.nextBytes(data);
            written.add(data);
            writer.add(SegmentEntry.newBuilder().setIno(7).setBlock(block).setSeq(block + 1), data);
        }
        SegmentWriter.Finished segment = writer.finish();
        SegmentRef ref = SegmentRef.newBuilder().setName(name).setSize(segment.bytes().length).setMinSeq(1).setMaxSeq(3)
                .setFooterOffset(segment.footerOffset()).setFooterLength(segment.footerLength()).build();
        Path bucketDir = tmp.resolve("bucket");
        try (LocalObjectStore bucket = new LocalObjectStore(bucketDir)) {
            bucket.put(name, segment.bytes());
            readEverything(bucket, ref, written);
            Path file = bucketDir.resolve(name);
            for (int bit = 0; bit < segment.bytes().length * 8; bit++) {
                byte[] damaged = segment.bytes().clone();
                damaged[bit / 8] ^= (byte) (1 << (bit % 8));
                Files.write(file, damaged);
                IntegrityException e = assertThrows(IntegrityException.class, () -> readEverything(bucket, ref, written),
                        "bit " + bit);
                assertTrue(e.getMessage().contains("segment object " + name + " in " + bucket.describe()), e.getMessage());
                assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
            }
        }
    }

    /** The footer and every frame, through a new store (no frame cached), each checked against what was written. */
    private void readEverything(ObjectStore bucket, SegmentRef ref, List<byte[]> written) throws IOException {
        try (SegmentStore segments = new SegmentStore(bucket, CODEC, tmp.resolve("cache"), 1 << 20)) {
            int id = segments.register(ref);
            List<SegmentEntry> entries = segments.loadFooter(id).getEntriesList();
            for (int i = 0; i < entries.size(); i++) {
                assertArrayEquals(written.get(i), segments.read(id, entries.get(i).getOffset(), entries.get(i).getLength()),
                        "never other bytes than were written");
            }
        }
    }
}
