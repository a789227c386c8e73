package org.dbfs.walservice.archive;

import java.util.ArrayList;
import java.util.List;
import org.dbfs.bucket.BucketLayout.WalArchiveObject;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.pgformat.wal.Lsn;

/**
 * The archive objects of one timeline as the bucket lists them, in LSN order, with the checks the
 * archiver relies on: where the archive ends, and whether it is one contiguous range.
 */
public record ArchiveCatalog(List<WalArchiveObject> objects) {

    public static ArchiveCatalog list(ObjectStore store, int timeline) {
        List<WalArchiveObject> names = new ArrayList<>();
        for (String key : store.list(WalArchiveObject.prefix(timeline))) {
            WalArchiveObject.parse(key).filter(n -> n.timeline() == timeline).ifPresent(names::add);
        }
        names.sort(null);
        return new ArchiveCatalog(List.copyOf(names));
    }

    /**
     * The one stream of WAL across timelines: each segment from the archive of the timeline that
     * holds it ({@link TimelineHistory#timelineOfSegment}).
     */
    public static ArchiveCatalog list(ObjectStore store, TimelineHistory history, int segmentSize) {
        if (history.entries().size() == 1) {
            return list(store, history.current().timeline());
        }
        List<WalArchiveObject> names = new ArrayList<>();
        for (TimelineHistory.Entry e : history.entries()) {
            for (WalArchiveObject o : list(store, e.timeline()).objects()) {
                if (history.timelineOfSegment(Lsn.segmentNumber(o.startLsn(), segmentSize), segmentSize) == e.timeline()) {
                    names.add(o);
                }
            }
        }
        names.sort(java.util.Comparator.comparingLong(WalArchiveObject::startLsn));
        return new ArchiveCatalog(List.copyOf(names));
    }

    public boolean isEmpty() {
        return objects.isEmpty();
    }

    public long start() {
        return objects.isEmpty() ? Lsn.INVALID : objects.getFirst().startLsn();
    }

    /** End of the archived WAL: the highest end LSN of any object (0 if none). */
    public long end() {
        long end = Lsn.INVALID;
        for (WalArchiveObject n : objects) {
            end = Math.max(end, n.endLsn());
        }
        return end;
    }

    /** Places where the objects do not meet end to start: gaps or overlaps, described for people; empty if contiguous. */
    public List<String> discontinuities() {
        List<String> problems = new ArrayList<>();
        for (int i = 1; i < objects.size(); i++) {
            WalArchiveObject prev = objects.get(i - 1);
            WalArchiveObject next = objects.get(i);
            if (next.startLsn() > prev.endLsn()) {
                problems.add("gap " + Lsn.format(prev.endLsn()) + ".." + Lsn.format(next.startLsn()) + " between " + prev + " and " + next);
            } else if (next.startLsn() < prev.endLsn()) {
                problems.add("overlap of " + prev + " and " + next);
            }
        }
        return problems;
    }

    /**
     * The first part of [start, end) that no object holds, as {@code {from, to}}, or null if the
     * archive covers the whole range.
     */
    public long[] firstMissing(long start, long end) {
        long next = start;
        for (WalArchiveObject n : objects) {
            if (next >= end) {
                break;
            }
            if (n.endLsn() <= next) {
                continue;
            }
            if (n.startLsn() > next) {
                return new long[] {next, Math.min(n.startLsn(), end)};
            }
            next = n.endLsn();
        }
        return next < end ? new long[] {next, end} : null;
    }
}
