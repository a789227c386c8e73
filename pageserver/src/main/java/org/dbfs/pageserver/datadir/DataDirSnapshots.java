package org.dbfs.pageserver.datadir;

import java.time.Duration;
import java.util.List;
import java.util.function.LongPredicate;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.dbfs.pageserver.store.FileSystemOps;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.DataDirSnapshot;
import org.dbfs.protocol.pageserver.v1.SnapshotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes a data-directory snapshot after every checkpoint: it looks at pg_control every
 * {@code interval} and takes one when the checkpoint named there is not the newest snapshot's.
 * One per checkpoint is as fine-grained as useful: a time-travel mount replays from the
 * snapshot's checkpoint anyway, so a point is never more than one checkpoint's WAL away.
 */
public final class DataDirSnapshots implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DataDirSnapshots.class);

    private final PageStore store;
    private final FileSystemOps fs;
    private final LongPredicate walAvailableAt;
    private long unusableCheckpoint = -1; // its redo point's WAL is nowhere: no use taking it again
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pageserver-snapshots");
        t.setDaemon(true);
        return t;
    });
    private String lastProblem = "";

    /**
     * @param walAvailableAt whether the WAL service can serve the WAL a standby replaying from a redo
     *                       point needs: a snapshot is only a starting point if it can
     */
    public DataDirSnapshots(PageStore store, Duration interval, LongPredicate walAvailableAt) {
        this.store = store;
        this.fs = new FileSystemOps(store);
        this.walAvailableAt = walAvailableAt;
        long ms = Math.max(100, interval.toMillis());
        timer.scheduleWithFixedDelay(this::checkQuietly, ms, ms, TimeUnit.MILLISECONDS);
    }

    /** Takes a snapshot now if pg_control names a checkpoint no snapshot has yet; returns the newest. */
    public synchronized SnapshotInfo takeIfNewCheckpoint() throws SnapshotTaker.NotTakenException {
        if (store.fenced() != null) {
            throw new SnapshotTaker.NotTakenException("this page server is fenced: " + store.fenced().getMessage());
        }
        long checkpoint = SnapshotTaker.currentCheckpoint(fs);
        List<SnapshotInfo> known = store.snapshots().list();
        for (SnapshotInfo s : known.reversed()) {
            if (s.getCheckpoint() == checkpoint) {
                return s;
            }
        }
        if (checkpoint == -1) {
            throw new SnapshotTaker.NotTakenException("the root holds no PostgreSQL data directory yet");
        }
        if (checkpoint == unusableCheckpoint) {
            throw new SnapshotTaker.NotTakenException("checkpoint " + Lsn.format(checkpoint) + " cannot start a time-travel"
                    + " mount (its WAL is not at the WAL service); the next checkpoint can");
        }
        long started = System.nanoTime();
        DataDirSnapshot taken = SnapshotTaker.take(fs, System.currentTimeMillis());
        if (!walAvailableAt.test(taken.getRedo())) {
            unusableCheckpoint = taken.getCheckpoint();
            throw new SnapshotTaker.NotTakenException("no snapshot of checkpoint " + Lsn.format(taken.getCheckpoint())
                    + ": the WAL service does not have the whole WAL segment of its redo point " + Lsn.format(taken.getRedo())
                    + " (it started following the cluster later), so no standby could replay from it. The next"
                    + " checkpoint's will do");
        }
        SnapshotInfo info = store.snapshots().put(taken);
        log.info("data-directory snapshot {}: checkpoint {} (redo {}), WAL end {} on timeline {}, {} entries, {} bytes, in {} ms",
                info.getName(), Lsn.format(taken.getCheckpoint()), Lsn.format(taken.getRedo()), Lsn.format(taken.getWalEnd()),
                taken.getTimeline(), taken.getEntriesCount(), info.getSize(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        return info;
    }

    private void checkQuietly() {
        try {
            if (SnapshotTaker.currentCheckpoint(fs) == -1) {
                return; // no initdb yet: nothing to snapshot, nothing wrong
            }
            takeIfNewCheckpoint();
            lastProblem = "";
        } catch (SnapshotTaker.NotTakenException | RuntimeException e) {
            String problem = e.getMessage() == null ? e.toString() : e.getMessage();
            if (!problem.equals(lastProblem)) { // once per cause, not every interval
                log.warn("no data-directory snapshot now: {}", problem);
                lastProblem = problem;
            }
        }
    }

    @Override
    public void close() {
        timer.shutdown(); // a snapshot under way finishes: interrupted, its reads would fail and log as a problem
        try {
            timer.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
