package org.dbfs.walservice.archive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dbfs.bucket.BucketLayout.WalArchiveObject;
import org.dbfs.walservice.archive.SegmentCoverage.Archived;
import org.dbfs.walservice.archive.SegmentCoverage.Gap;
import org.dbfs.walservice.archive.SegmentCoverage.NotArchived;
import org.junit.jupiter.api.Test;

/** Segments of 1000 bytes over a catalog of objects: what restore_command may hand out of each. */
class SegmentCoverageTest {
    static SegmentCoverage of(int segment, WalArchiveObject... objects) {
        return SegmentCoverage.of(new ArchiveCatalog(List.of(objects)), segment * 1000L, segment * 1000L + 1000);
    }

    static WalArchiveObject o(long start, long end) {
        return new WalArchiveObject(1, start, end);
    }

    @Test
    void wholeAndOverlappingObjectsMakeAWholeSegment() {
        assertEquals(new Archived(1000, 2000, 2000), of(1, o(500, 1000), o(1000, 1400), o(1300, 2000), o(2000, 2100)));
        assertEquals(false, ((Archived) of(1, o(1000, 2000))).partial());
    }

    @Test
    void theArchivesEndInsideASegmentMakesItPartial() {
        Archived a = (Archived) of(1, o(500, 1000), o(1000, 1300));
        assertEquals(1300, a.end());
        assertTrue(a.partial());
    }

    @Test
    void nothingFromTheFirstByteOnIsNotArchived() {
        assertInstanceOf(NotArchived.class, of(1));
        assertInstanceOf(NotArchived.class, of(3, o(500, 1000), o(1000, 2000)), "after the end");
        assertInstanceOf(NotArchived.class, of(0, o(1000, 2000)), "before the start");
        assertTrue(((NotArchived) of(1, o(1200, 2000), o(2000, 2500))).why().contains("starts at 0/4B0"), "the archive starts inside it");
        assertInstanceOf(NotArchived.class, of(1, o(500, 1000)), "the archive ends exactly at its start");
    }

    @Test
    void holesWithWalAfterThemAreGaps() {
        assertInstanceOf(Gap.class, of(1, o(1000, 1200), o(1300, 2000)));
        assertInstanceOf(Gap.class, of(1, o(1000, 1200), o(1300, 1400)), "a hole before the archive's end");
        assertInstanceOf(Gap.class, of(1, o(500, 900), o(1100, 2000)), "a hole at the segment's first byte");
        assertInstanceOf(Gap.class, of(1, o(500, 900), o(2500, 3000)), "a hole over the whole segment inside the archive");
    }
}
