package org.dbfs.walservice.archive;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.List;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

import org.dbfs.bucket.BucketLayout.WalArchiveObject;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.ObjectNotFoundException;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.walservice.wal.WalNotAvailableException;

/**
 * Reads WAL back from the archive. Each object is one {@link FrameCodec} frame whose associated
 * data is (object name, start LSN), so an object that was damaged, truncated, renamed or written
 * under another key fails with an {@link IntegrityException} that names it, and is never served.
 *
 * <p>Archive objects never change once written (a name is its range), so the listing and the
 * opened objects are kept: a time-travel mount's GetPage@LSN reads many records of old WAL, one
 * page at a time, and must not list the bucket and open a 16 MB object for each. The listing is
 * taken again only when a read falls past it. Thread-safe.
 */
public final class ArchiveReader {
    /** Opened objects kept in memory: four 16 MB segments' worth. */
    private static final long CACHED_BYTES = 64L << 20;

    private final ObjectStore store;
    private final FrameCodec codec;
    private final Supplier<TimelineHistory> history;
    private final IntSupplier segmentSize;
    private final Cache<String, byte[]> opened = Caffeine.newBuilder().maximumWeight(CACHED_BYTES)
            .weigher((String name, byte[] wal) -> wal.length).build();
    private volatile Listed listed;

    /** A listing, and the timelines it was taken for (a switch makes a segment another timeline's). */
    private record Listed(ArchiveCatalog catalog, TimelineHistory history) {}

    /** Over the timelines {@code history} names, each segment from its own timeline's archive. */
    public ArchiveReader(ObjectStore store, FrameCodec codec, Supplier<TimelineHistory> history, IntSupplier segmentSize) {
        this.store = store;
        this.codec = codec;
        this.history = history;
        this.segmentSize = segmentSize;
    }

    /** The archive of timeline 1 alone. */
    public ArchiveReader(ObjectStore store, FrameCodec codec, int timeline) {
        this(store, codec, () -> new TimelineHistory(List.of(new TimelineHistory.Entry(timeline, 0))), () -> 0);
    }

    /** Associated data of an archive object's frame: binds the bytes to the name and start LSN. */
    static byte[] associatedData(WalArchiveObject name) {
        return FrameCodec.associatedData(name.name(), name.startLsn());
    }

    /** Listing plus reads; the listing is taken fresh on each call. */
    public ArchiveCatalog catalog() {
        return ArchiveCatalog.list(store, history.get(), segmentSize.getAsInt());
    }

    /**
     * WAL bytes [start, end) from the archive.
     *
     * @throws WalNotAvailableException if the archive does not cover the range
     * @throws IntegrityException naming the object if one fails its check
     */
    public byte[] read(long start, long end) {
        if (Long.compareUnsigned(end, start) < 0) {
            throw new IllegalArgumentException("end before start: start=" + Lsn.format(start) + " end=" + Lsn.format(end));
        }
        byte[] out = new byte[Math.toIntExact(end - start)];
        Listed known = listed;
        TimelineHistory timelines = history.get();
        long next = start;
        if (known != null && known.history().equals(timelines)) {
            try {
                next = copy(known.catalog(), start, end, out);
            } catch (ObjectNotFoundException gone) {
                next = start; // the listing is older than the bucket: list again
            }
        }
        if (next < end) {
            known = new Listed(ArchiveCatalog.list(store, timelines, segmentSize.getAsInt()), timelines); // archived since
            listed = known;
            next = copy(known.catalog(), start, end, out);
        }
        if (next < end) {
            throw new WalNotAvailableException("the archive has no WAL for " + Lsn.format(next) + ".." + Lsn.format(end)
                    + " (timeline " + history.get().current().timeline() + ", bucket " + store.describe() + ")");
        }
        return out;
    }

    /** Copies what {@code catalog} holds of [start, end) into {@code out}; returns where the copy stopped. */
    private long copy(ArchiveCatalog catalog, long start, long end, byte[] out) {
        long next = start;
        for (WalArchiveObject name : catalog.objects()) {
            if (next >= end) {
                break;
            }
            if (name.endLsn() <= next || name.startLsn() > next) {
                continue; // before the range, or after a gap (the caller reports it)
            }
            byte[] wal = opened.get(name.name(), n -> readObject(name));
            int from = (int) (next - name.startLsn());
            int n = (int) Math.min(name.endLsn() - next, end - next);
            System.arraycopy(wal, from, out, (int) (next - start), n);
            next += n;
        }
        return next;
    }

    /** The whole WAL of one object, verified. */
    public byte[] readObject(WalArchiveObject name) {
        String object = "WAL archive object " + name.name() + " in " + store.describe();
        byte[] wal = codec.open(store.get(name.name()), associatedData(name), object);
        if (wal.length != name.length()) {
            throw new IntegrityException(object + " is corrupt: it holds " + wal.length + " bytes of WAL, its name says "
                    + name.length());
        }
        return wal;
    }
}
