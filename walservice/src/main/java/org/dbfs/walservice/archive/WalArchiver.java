package org.dbfs.walservice.archive;

import java.io.IOException;
import org.dbfs.bucket.BucketLayout.WalArchiveObject;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.PreconditionFailedException;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.walservice.wal.LocalSegmentRetirer;
import org.dbfs.walservice.wal.WalPositions;
import org.dbfs.walservice.wal.WalSegments;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Uploads durable WAL to the object store as immutable, encrypted objects, each a contiguous LSN
 * range inside one segment (see {@link WalArchiveObject}). Runs on its own thread.
 *
 * <ul>
 *   <li>Never ahead of local durability: it reads only below {@link WalPositions#flushed()}.
 *   <li>Often: an object is cut once {@value #MIN_OBJECT_BYTES} bytes wait, or the oldest waiting
 *       byte has waited {@value #MAX_DELAY_MS} ms, or the segment is complete, so a commit reaches
 *       the archive within about a second.
 *   <li>Exactly once: the archived end is found by listing the bucket at start; objects are written
 *       create-if-absent, and one that already exists under the same name is left alone.
 * </ul>
 */
public final class WalArchiver implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(WalArchiver.class);
    static final long MIN_OBJECT_BYTES = 256 << 10;
    static final long MAX_DELAY_MS = 200;
    private static final long RETRY_MAX_MS = 5_000;

    /** Reads durable local WAL. */
    public interface DurableWal {
        byte[] read(long start, long end) throws IOException;
    }

    private final ObjectStore store;
    private final FrameCodec codec;
    private volatile int timeline; // the current one: new objects go to its archive
    private final WalPositions positions;
    private final DurableWal local;
    private final LocalSegmentRetirer retirer;
    private volatile boolean stopping;
    private long archived = -1;

    /** @param retirer deletes local segments once archived (null: keep them all) */
    public WalArchiver(ObjectStore store, FrameCodec codec, int timeline, WalPositions positions, DurableWal local,
                       LocalSegmentRetirer retirer) {
        this.store = store;
        this.codec = codec;
        this.timeline = timeline;
        this.positions = positions;
        this.local = local;
        this.retirer = retirer;
    }

    /**
     * Lists the bucket and publishes where the archive ends; call before starting the thread. On a
     * timeline after the first whose archive is still empty, archiving starts at the segment its
     * switch point is in (that segment is the new timeline's, the old WAL up to the switch included).
     */
    public ArchiveCatalog recover(TimelineHistory history) {
        timeline = history.current().timeline();
        ArchiveCatalog catalog = ArchiveCatalog.list(store, timeline);
        for (String problem : catalog.discontinuities()) {
            LOG.error("walservice: the WAL archive is not contiguous: {}", problem);
        }
        if (!catalog.isEmpty()) {
            archived = catalog.end();
            positions.archived(archived);
        } else if (history.entries().size() > 1 && positions.segmentSize() > 0) {
            archived = new WalSegments(positions.segmentSize()).segmentStart(history.current().startLsn());
        }
        return catalog;
    }

    /**
     * From now on archives {@code newTimeline}, starting again at the beginning of the segment of
     * its switch point; returns that LSN. The old timeline's objects stay as they are.
     */
    public synchronized long switchTimeline(int newTimeline, long switchLsn) {
        timeline = newTimeline;
        archived = new WalSegments(positions.segmentSize()).segmentStart(switchLsn);
        LOG.info("walservice: archiving timeline {} from {} on", newTimeline, Lsn.format(archived));
        return archived;
    }

    @Override
    public void run() {
        long waitingSince = 0;
        long retry = 250;
        while (!stopping) {
            try {
                long flushed = positions.awaitFlushedBeyond(Math.max(archived, 0), 1_000);
                if (!startKnown()) {
                    continue;
                }
                if (retirer != null) {
                    retirer.retire(); // also while idle: the indexer may pass a segment after it was archived
                }
                if (flushed <= archived) {
                    waitingSince = 0;
                    continue;
                }
                long now = System.nanoTime();
                if (waitingSince == 0) {
                    waitingSince = now;
                }
                long segmentEnd = new WalSegments(positions.segmentSize()).nextSegmentStart(archived);
                long end = Math.min(flushed, segmentEnd);
                boolean due = end - archived >= MIN_OBJECT_BYTES || end == segmentEnd
                        || (now - waitingSince) / 1_000_000 >= MAX_DELAY_MS;
                if (!due) {
                    long left = MAX_DELAY_MS - (now - waitingSince) / 1_000_000;
                    positions.awaitFlushedBeyond(flushed, Math.max(1, left));
                    continue;
                }
                upload(archived, end);
                waitingSince = positions.flushed() > end ? System.nanoTime() : 0;
                retry = 250;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (IOException | RuntimeException e) {
                LOG.warn("walservice: archiving WAL from {} failed ({}); retrying in {} ms",
                        Lsn.format(archived), e.toString(), retry);
                sleep(retry);
                retry = Math.min(RETRY_MAX_MS, retry * 2);
            }
        }
    }

    /** Where to start if the bucket held no archive: the start of the local log, once known. */
    private boolean startKnown() {
        long localStart = positions.localStart();
        if (localStart < 0) {
            return false;
        }
        if (archived < 0) {
            archived = localStart;
            positions.archived(archived);
        } else if (archived < localStart) {
            LOG.error("walservice: the archive ends at {} but the local WAL starts at {}; the archive will have a gap",
                    Lsn.format(archived), Lsn.format(localStart));
            archived = localStart;
        }
        return true;
    }

    /** Uploads everything durable, in as many objects as needed; for shutdown. */
    public void drain() throws IOException {
        if (!startKnown()) {
            return;
        }
        long flushed = positions.flushed();
        while (archived < flushed) {
            long end = Math.min(flushed, new WalSegments(positions.segmentSize()).nextSegmentStart(archived));
            upload(archived, end);
        }
    }

    private synchronized void upload(long start, long end) throws IOException {
        if (start != archived) {
            return; // the other thread (run or drain) got there first, or the timeline switched
        }
        WalArchiveObject name = new WalArchiveObject(timeline, start, end);
        byte[] wal = local.read(start, end);
        byte[] frame = codec.seal(wal, ArchiveReader.associatedData(name));
        try {
            store.putIfAbsent(name.name(), frame);
        } catch (PreconditionFailedException exists) {
            LOG.info("walservice: archive object {} exists already; keeping it", name);
        }
        archived = end;
        positions.archived(end);
    }

    /** Stops the thread; call {@link #drain()} afterwards for the final upload. */
    public void stop(Thread thread) throws InterruptedException {
        stopping = true;
        positions.wakeAll();
        thread.join(30_000);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
