package org.dbfs.walservice.cli;

import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.walservice.archive.TimelineHistory;

import org.dbfs.bucket.cli.BucketOptions;
import org.dbfs.bucket.crypto.BucketKeys;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.WalReader;
import org.dbfs.walservice.archive.ArchiveCatalog;
import org.dbfs.walservice.archive.ArchiveReader;
import org.dbfs.walservice.archive.ArchiveWalSource;
import org.dbfs.walservice.wal.WalNotAvailableException;

/** The archive as the offline subcommands read it: bucket, key, one catalog listing. */
final class ArchiveAccess implements AutoCloseable {
    private final ObjectStore store;
    final ArchiveReader reader;
    final ArchiveCatalog catalog;

    final TimelineHistory history;

    /** @param segmentSize WAL segment size: which timeline's archive holds a segment depends on it */
    ArchiveAccess(BucketOptions bucket, int segmentSize) {
        this.store = bucket.open();
        try {
            store.checkReadable();
            FrameCodec codec = BucketKeys.openExisting(store, bucket.passphrase());
            this.history = TimelineHistory.load(store, codec);
            this.reader = new ArchiveReader(store, codec, () -> history, () -> segmentSize);
            this.catalog = reader.catalog();
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /**
     * A reader over [start, end) of the archive, at the first record starting at or after
     * {@code start} (as pg_waldump -s finds it), cut off at {@code end} (as pg_waldump -e).
     *
     * @throws WalNotAvailableException naming the first part of the range the archive lacks
     */
    WalReader reader(long start, long end, int segmentSize) {
        long[] missing = catalog.firstMissing(start, end);
        if (missing != null) {
            throw new WalNotAvailableException("the archive in " + describe() + " has no WAL for "
                    + Lsn.format(missing[0]) + ".." + Lsn.format(missing[1]) + " (it holds "
                    + (catalog.isEmpty() ? "nothing" : Lsn.format(catalog.start()) + ".." + Lsn.format(catalog.end()))
                    + (catalog.discontinuities().isEmpty() ? "" : ", with " + catalog.discontinuities()) + ")");
        }
        return WalReader.findFirstRecord(new ArchiveWalSource(reader, catalog, end), start, segmentSize, 0);
    }

    /** The bucket, for messages. */
    String describe() {
        return store.describe();
    }

    @Override
    public void close() {
        store.close();
    }
}
