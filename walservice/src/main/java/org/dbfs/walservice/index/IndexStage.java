package org.dbfs.walservice.index;

import java.io.IOException;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.walservice.archive.WalArchiver.DurableWal;
import org.dbfs.walservice.wal.WalPositions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pipeline stage that feeds durable WAL through a {@link RecordIndexer} into the
 * {@link WalIndex}, on its own thread. It resumes at {@link WalIndex#indexedUpTo()} (or the start of
 * the local log for a new index), so after a crash nothing is indexed twice or skipped.
 */
public final class IndexStage implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(IndexStage.class);
    /** WAL handed to the indexer per call, at most. */
    static final int MAX_BATCH_BYTES = 4 << 20;

    private final WalIndex index;
    private final RecordIndexer indexer;
    private final WalPositions positions;
    private final DurableWal wal;
    private volatile boolean stopping;

    public IndexStage(WalIndex index, RecordIndexer indexer, WalPositions positions, DurableWal wal) {
        this.index = index;
        this.indexer = indexer;
        this.positions = positions;
        this.wal = wal;
    }

    @Override
    public void run() {
        long next = index.indexedUpTo();
        while (!stopping) {
            try {
                if (next == 0 || next < positions.localStart()) {
                    if (positions.localStart() < 0) {
                        positions.awaitFlushedBeyond(0, 1_000);
                        continue;
                    }
                    next = Math.max(next, positions.localStart());
                }
                long flushed = positions.awaitFlushedBeyond(next, 1_000);
                if (flushed <= next) {
                    continue;
                }
                long end = Math.min(flushed, next + MAX_BATCH_BYTES);
                RecordIndexer.Batch batch = indexer.pageRefs(wal.read(next, end), next);
                if (batch.continueAt() > next) {
                    index.append(batch.refs(), batch.continueAt());
                    next = batch.continueAt();
                    positions.indexed(next);
                } else if (end == flushed) {
                    positions.awaitFlushedBeyond(flushed, 1_000); // a record is still incomplete: wait for more WAL
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (IOException | RuntimeException e) {
                LOG.error("walservice: indexing WAL at {} failed: {}", Lsn.format(next), e.toString());
                try {
                    Thread.sleep(1_000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    public void stop(Thread thread) throws InterruptedException {
        stopping = true;
        positions.wakeAll();
        thread.join(30_000);
    }
}
