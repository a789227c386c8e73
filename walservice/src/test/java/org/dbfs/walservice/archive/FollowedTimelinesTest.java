package org.dbfs.walservice.archive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.objectstore.LocalObjectStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A first start for a branch's primary, which is on a timeline of its own from its first record:
 * an empty bucket records that timeline as its archive's first; a bucket that holds a history or
 * any archived WAL keeps what it has.
 */
class FollowedTimelinesTest {
    @TempDir
    Path dir;

    final FrameCodec codec = FrameCodec.forKey(new byte[32]);

    @Test
    void anEmptyBucketStartsAtTheBranchPrimarysTimeline() throws Exception {
        try (LocalObjectStore store = new LocalObjectStore(dir.resolve("bucket"))) {
            FollowedTimelines t = new FollowedTimelines(store, codec);
            assertTrue(t.startAt(3));
            assertEquals(List.of(new TimelineHistory.Entry(3, 0)), t.get().entries());
            assertEquals(3, t.get().timelineOfSegment(7, 16 << 20));
            assertTrue(t.get().segmentOnTimeline(7, 3, 16 << 20));
            assertEquals(List.of(new TimelineHistory.Entry(3, 0)), new FollowedTimelines(store, codec).get().entries(),
                    "kept in the bucket for restarts and walservice restore");
            assertFalse(new FollowedTimelines(store, codec).startAt(4), "a recorded history is never replaced");
            t.advance(4, 0x5000000L);
            assertEquals(4, t.get().current().timeline());
        }
    }

    @Test
    void aBucketWithArchivedWalKeepsItsHistory() throws Exception {
        try (LocalObjectStore store = new LocalObjectStore(dir.resolve("bucket"))) {
            store.put(new BucketLayout.WalArchiveObject(1, 0x1000000L, 0x1002000L).name(), new byte[] {1});
            FollowedTimelines t = new FollowedTimelines(store, codec);
            assertFalse(t.startAt(2));
            assertEquals(TimelineHistory.FIRST, t.get());
        }
    }
}
