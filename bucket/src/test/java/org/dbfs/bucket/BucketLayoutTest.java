package org.dbfs.bucket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BucketLayoutTest {
    @Test
    void segmentNamesRoundTripAndSortInSequenceOrder() {
        BucketLayout.Segment s = new BucketLayout.Segment(1, 42, 7);
        assertEquals("segments/00000000000000000001-00000000000000000042-g0000000007.seg", s.name());
        assertEquals(s, BucketLayout.Segment.parse(s.name()).orElseThrow());
        BucketLayout.Segment rewritten = new BucketLayout.Segment(1, 42, 7, 99);
        assertEquals("segments/00000000000000000001-00000000000000000042-g0000000007-r00000000000000000099.seg",
                rewritten.name());
        assertEquals(rewritten, BucketLayout.Segment.parse(rewritten.name()).orElseThrow());
        List<String> names = new ArrayList<>(List.of(new BucketLayout.Segment(100, 200, 1).name(),
                new BucketLayout.Segment(9, 99, 3).name()));
        names.sort(null);
        assertEquals(new BucketLayout.Segment(9, 99, 3).name(), names.getFirst());
    }

    @Test
    void namesFromBeforeGenerationsParseAsGenerationZero() {
        assertEquals(new BucketLayout.Segment(1, 5, 0),
                BucketLayout.Segment.parse("segments/00000000000000000001-00000000000000000005.seg").orElseThrow());
        assertEquals(new BucketLayout.NamespaceSnapshot(5, 0),
                BucketLayout.NamespaceSnapshot.parse("namespace/00000000000000000005.ns").orElseThrow());
    }

    @Test
    void namespaceNamesRoundTripAndOtherKeysDoNotParse() {
        BucketLayout.NamespaceSnapshot n = new BucketLayout.NamespaceSnapshot(12, 3);
        assertEquals(n, BucketLayout.NamespaceSnapshot.parse(n.name()).orElseThrow());
        assertTrue(BucketLayout.Segment.parse(n.name()).isEmpty());
        assertTrue(BucketLayout.Segment.parse("segments/1-2.seg").isEmpty());
        assertTrue(BucketLayout.NamespaceSnapshot.parse(BucketLayout.MANIFEST).isEmpty());
    }

    @Test
    void walArchiveObjectNamesRoundTripAndSortInLsnOrder() {
        BucketLayout.WalArchiveObject n = new BucketLayout.WalArchiveObject(1, 0x1_0300_0028L, 0x1_0300_1000L);
        assertEquals("wal/00000001/0000000103000028-0000000103001000", n.name());
        assertEquals(n, BucketLayout.WalArchiveObject.parse(n.name()).orElseThrow());
        assertTrue(BucketLayout.WalArchiveObject.parse("wal/00000001/junk").isEmpty());
        assertTrue(BucketLayout.WalArchiveObject.parse("wal/00000001/0000000000000010-0000000000000010").isEmpty());
        assertTrue(new BucketLayout.WalArchiveObject(1, 0x200, 0x300).name()
                .compareTo(new BucketLayout.WalArchiveObject(1, 0x1000, 0x1100).name()) < 0);
    }

    @Test
    void snapshotNamesRoundTripAndSortInWalEndOrder() {
        BucketLayout.DataDirSnapshot n = new BucketLayout.DataDirSnapshot(0x2_0000_1000L, 0x1_FFFF_0028L, 1_765_000_000_123L, 4);
        assertEquals("snapshots/0000000200001000-00000001FFFF0028-t001765000000123-g0000000004.snap", n.name());
        assertEquals(n, BucketLayout.DataDirSnapshot.parse(n.name()).orElseThrow());
        assertTrue(BucketLayout.DataDirSnapshot.parse("snapshots/0000000200001000-00000001FFFF0028-g0000000004.snap").isEmpty());
        assertTrue(new BucketLayout.DataDirSnapshot(0x900, 0x100, 9, 9).name()
                .compareTo(new BucketLayout.DataDirSnapshot(0x1000, 0x100, 1, 1).name()) < 0);
    }
}
