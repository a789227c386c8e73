package org.dbfs.walservice.archive;

import java.util.List;
import org.dbfs.bucket.BucketLayout.WalArchiveObject;
import org.dbfs.pgformat.wal.WalSource;

/**
 * A {@link WalSource} over the archive's objects (as one catalog listed them), cut off at
 * {@code endLsn} the way {@code pg_waldump -e} cuts its input. Keeps the last object it opened in
 * memory (objects are at most a few hundred KiB). Not thread-safe.
 */
public final class ArchiveWalSource implements WalSource {
    private final ArchiveReader reader;
    private final List<WalArchiveObject> objects;
    private final long endLsn;
    private WalArchiveObject cachedName;
    private byte[] cached;

    /** @param endLsn the first LSN not to serve */
    public ArchiveWalSource(ArchiveReader reader, ArchiveCatalog catalog, long endLsn) {
        this.reader = reader;
        this.objects = catalog.objects();
        this.endLsn = endLsn;
    }

    @Override
    public int read(long lsn, byte[] dst, int off, int len) {
        if (Long.compareUnsigned(lsn, endLsn) >= 0) {
            return 0;
        }
        WalArchiveObject name = objectHolding(lsn);
        if (name == null) {
            return 0;
        }
        if (!name.equals(cachedName)) {
            cached = reader.readObject(name);
            cachedName = name;
        }
        int n = (int) Math.min(len, Math.min(name.endLsn(), endLsn) - lsn);
        System.arraycopy(cached, (int) (lsn - name.startLsn()), dst, off, n);
        return n;
    }

    private WalArchiveObject objectHolding(long lsn) {
        if (cachedName != null && cachedName.startLsn() <= lsn && lsn < cachedName.endLsn()) {
            return cachedName;
        }
        int lo = 0;
        int hi = objects.size() - 1;
        while (lo <= hi) { // the last object starting at or below lsn
            int mid = (lo + hi) >>> 1;
            if (objects.get(mid).startLsn() <= lsn) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        if (hi < 0 || objects.get(hi).endLsn() <= lsn) {
            return null;
        }
        return objects.get(hi);
    }
}
