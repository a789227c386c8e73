package org.dbfs.walservice.archive;

import org.dbfs.pgformat.wal.Lsn;

/**
 * What the archive holds of one WAL segment, as a restore_command must know it: the whole segment,
 * a prefix of it where the archive ends inside it, nothing, or a segment with a hole that must not
 * be handed out.
 */
public sealed interface SegmentCoverage {

    /**
     * WAL [segmentStart, end) is archived without a gap. {@code end} is short of the segment's end
     * only when the archive itself ends there (the newest segment).
     */
    record Archived(long segmentStart, long end, long segmentEnd) implements SegmentCoverage {
        public boolean partial() {
            return end != segmentEnd;
        }
    }

    /** The archive has nothing of the segment from its first byte on: it ends before, or starts after or inside it. */
    record NotArchived(String why) implements SegmentCoverage {}

    /** The archive holds parts of the segment, but not one contiguous run from its first byte to the archive's end or the segment's. */
    record Gap(String why) implements SegmentCoverage {}

    static SegmentCoverage of(ArchiveCatalog catalog, long segmentStart, long segmentEnd) {
        long[] missing = catalog.firstMissing(segmentStart, segmentEnd);
        if (missing == null) {
            return new Archived(segmentStart, segmentEnd, segmentEnd);
        }
        if (catalog.isEmpty()) {
            return new NotArchived("the archive is empty");
        }
        if (catalog.end() <= segmentStart) {
            return new NotArchived("the archive ends at " + Lsn.format(catalog.end()));
        }
        if (catalog.start() > segmentStart) {
            // Also the segment the archive starts in: its head was never archived, and zeros there would be wrong WAL.
            return new NotArchived("the archive starts at " + Lsn.format(catalog.start()));
        }
        if (missing[0] > segmentStart && missing[0] == catalog.end()) {
            return new Archived(segmentStart, missing[0], segmentEnd);
        }
        return new Gap("the archive has no WAL for " + Lsn.format(missing[0]) + ".." + Lsn.format(missing[1])
                + " but holds WAL after it, up to " + Lsn.format(catalog.end()));
    }
}
