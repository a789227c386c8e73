package org.dbfs.walservice.archive;

import java.util.List;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

import org.dbfs.bucket.BucketLayout.WalArchiveObject;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.walservice.wal.WalNotAvailableException;

/**
 * Reads WAL back from the archive. Each object is one {@link FrameCodec} frame whose associated
 * data is (object name, start LSN), so an object that was damaged, truncated, renamed or written
 * under another key fails with an {@link IntegrityException} that names it, and is never served.
 * Thread-safe.
 */
public final class ArchiveReader {
    private final ObjectStore store;
    private final FrameCodec codec;
    private final Supplier<TimelineHistory> history;
    private final IntSupplier segmentSize;

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
        long next = start;
        for (WalArchiveObject name : catalog().objects()) {
            if (next >= end) {
                break;
            }
            if (name.endLsn() <= next || name.startLsn() > next) {
                continue; // before the range, or after a gap (reported below)
            }
            byte[] wal = readObject(name);
            int from = (int) (next - name.startLsn());
            int n = (int) Math.min(name.endLsn() - next, end - next);
            System.arraycopy(wal, from, out, (int) (next - start), n);
            next += n;
        }
        if (next < end) {
            throw new WalNotAvailableException("the archive has no WAL for " + Lsn.format(next) + ".." + Lsn.format(end)
                    + " (timeline " + history.get().current().timeline() + ", bucket " + store.describe() + ")");
        }
        return out;
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
