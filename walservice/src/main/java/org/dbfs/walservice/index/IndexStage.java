package org.dbfs.walservice.index;

import java.nio.file.Path;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.walservice.wal.DurableWalSource;
import org.dbfs.walservice.wal.WalFiles;
import org.dbfs.walservice.wal.WalPositions;
import org.dbfs.walservice.wal.WalSegments;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pipeline stage that feeds durable WAL through a {@link RecordIndexer} into the
 * {@link WalIndex}, on its own thread, off the commit path: the receiver's fsync and flush report
 * never wait for it; it only follows the flushed position.
 *
 * <p>Resume: it starts at {@link WalIndex#indexedUpTo()}, which is always a record boundary (the
 * EndRecPtr of the last record of a committed batch), so after a kill -9 nothing is indexed twice or
 * skipped. A new index starts at the local log's first page, at the first record that begins there.
 *
 * <p>Failure: WAL that does not decode ({@link CorruptWalException}) stops the stage for good with
 * an ERROR in the log and the reason in {@link WalPositions#indexError()} (GetPositions
 * {@code index_error}); the index stays complete below {@code indexed_lsn}. Other errors (I/O) are
 * logged and retried from the last committed batch after a second.
 */
public final class IndexStage implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(IndexStage.class);
    /** Page references per LMDB transaction, at most. */
    static final int MAX_BATCH_REFS = 20_000;

    private final WalIndex index;
    private final RecordIndexer.Factory indexers;
    private final WalPositions positions;
    private final Path walDir;
    private volatile boolean stopping;
    private volatile long recordsIndexed;

    public IndexStage(WalIndex index, RecordIndexer.Factory indexers, WalPositions positions, Path walDir) {
        this.index = index;
        this.indexers = indexers;
        this.positions = positions;
        this.walDir = walDir;
    }

    /** Records indexed by this stage since it started (a throughput gauge). */
    public long recordsIndexed() {
        return recordsIndexed;
    }

    @Override
    public void run() {
        while (!stopping) {
            long next = index.indexedUpTo();
            try {
                indexFrom(next);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (CorruptWalException e) {
                String message = "indexing stopped: " + e.getMessage() + "; the index is complete below "
                        + Lsn.format(index.indexedUpTo());
                LOG.error("walservice: {}", message);
                positions.indexFailed(message);
                return;
            } catch (RuntimeException e) {
                LOG.error("walservice: indexing WAL after {} failed, retrying in 1 s: {}", Lsn.format(index.indexedUpTo()), e.toString());
                if (!pause()) {
                    return;
                }
            }
        }
    }

    private void indexFrom(long indexedUpTo) throws InterruptedException {
        while (positions.localStart() < 0) { // the layout (segment size, timeline) comes with the first connection
            if (stopping) {
                return;
            }
            positions.awaitFlushedBeyond(0, 1_000);
        }
        long localStart = positions.localStart();
        boolean atRecord = indexedUpTo != 0 && Long.compareUnsigned(indexedUpTo, localStart) >= 0;
        long next = atRecord ? indexedUpTo : localStart;
        WalFiles files = new WalFiles(walDir, new WalSegments(positions.segmentSize()), positions.fileTimeline());
        try (DurableWalSource source = new DurableWalSource(files, positions::flushed)) {
            RecordIndexer indexer = indexers.open(source, next, atRecord, positions.segmentSize(), positions.systemIdentifier());
            LOG.info("walservice: indexing from {} ({})", Lsn.format(next), atRecord ? "resuming at a record boundary"
                    : "new index: first record at or after the local log's start");
            while (!stopping) {
                long flushedBefore = positions.flushed();
                RecordIndexer.Batch batch = indexer.next(MAX_BATCH_REFS);
                if (batch.continueAt() != next) {
                    index.append(batch.refs(), batch.continueAt());
                    next = batch.continueAt();
                    positions.indexed(next);
                    recordsIndexed += batch.records();
                }
                if (batch.caughtUp()) {
                    positions.awaitFlushedBeyond(flushedBefore, 1_000);
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private boolean pause() {
        try {
            Thread.sleep(1_000);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public void stop(Thread thread) throws InterruptedException {
        stopping = true;
        positions.wakeAll();
        thread.join(30_000);
    }
}
