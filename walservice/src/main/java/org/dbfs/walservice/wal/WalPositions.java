package org.dbfs.walservice.wal;

/**
 * The service's positions, shared between the stages: the receiver moves {@code received} and
 * {@code flushed}, the archiver {@code archived}, the index stage {@code indexed}. Each only moves
 * forward. Waiters (archiver, ReadWal) block on this object's monitor until a position passes an LSN.
 */
public final class WalPositions {
    private long localStart = -1;
    private long received;
    private long flushed;
    private long archived;
    private long indexed;
    private String indexError = "";
    private boolean primaryConnected;
    private long systemIdentifier;
    private int timeline; // the timeline followed now
    private int fileTimeline; // the timeline the local segment files are named for (the first this data directory followed)
    private int segmentSize;

    public synchronized void layout(DurablePosition pos) {
        systemIdentifier = pos.systemIdentifier();
        fileTimeline = pos.timeline();
        if (timeline == 0) {
            timeline = pos.timeline();
        }
        segmentSize = pos.segmentSize();
        localStart = pos.startLsn();
        received = Math.max(received, pos.flushedLsn());
        flushed = Math.max(flushed, pos.flushedLsn());
        notifyAll();
    }

    /**
     * A timeline switch before what was received: WAL past {@code lsn} was the old timeline's (a
     * record it never finished) and is received again from the new one; the archive restarts at
     * {@code archivedFrom}. The one place positions move back.
     */
    public synchronized void rewind(long lsn, long archivedFrom) {
        received = Math.min(received, lsn);
        flushed = Math.min(flushed, lsn);
        archived = Math.min(archived, archivedFrom);
        notifyAll();
    }

    public synchronized void timeline(int t) {
        timeline = t;
    }

    public synchronized void received(long lsn) {
        received = Math.max(received, lsn);
    }

    public synchronized void flushed(long lsn) {
        flushed = Math.max(flushed, lsn);
        notifyAll();
    }

    public synchronized void archived(long lsn) {
        archived = Math.max(archived, lsn);
        notifyAll();
    }

    public synchronized void indexed(long lsn) {
        indexed = Math.max(indexed, lsn);
        notifyAll();
    }

    /** Indexing stopped for good at {@link #indexed()}: why, for GetPositions. */
    public synchronized void indexFailed(String message) {
        indexError = message;
        notifyAll();
    }

    /** Empty while indexing is healthy (or off). */
    public synchronized String indexError() {
        return indexError;
    }

    public synchronized void primaryConnected(boolean connected) {
        primaryConnected = connected;
    }

    /** Where the local log starts, or -1 before the first connection to the primary fixed it. */
    public synchronized long localStart() {
        return localStart;
    }

    public synchronized long received() {
        return received;
    }

    public synchronized long flushed() {
        return flushed;
    }

    public synchronized long archived() {
        return archived;
    }

    public synchronized long indexed() {
        return indexed;
    }

    public synchronized boolean primaryConnected() {
        return primaryConnected;
    }

    public synchronized long systemIdentifier() {
        return systemIdentifier;
    }

    public synchronized int timeline() {
        return timeline;
    }

    /** The timeline in the local segment files' names: one stream of WAL across timeline switches. */
    public synchronized int fileTimeline() {
        return fileTimeline;
    }

    public synchronized int segmentSize() {
        return segmentSize;
    }

    /** Waits until the flushed position is past {@code lsn} and the layout is known; returns the flushed position. */
    public synchronized long awaitFlushedBeyond(long lsn, long timeoutMillis) throws InterruptedException {
        waitUntil(() -> localStart >= 0 && flushed > lsn, timeoutMillis);
        return flushed;
    }

    /**
     * Waits until the index reaches {@code lsn} or indexing has failed for good; returns the indexed
     * position (below {@code lsn} on timeout or failure).
     */
    public synchronized long awaitIndexed(long lsn, long timeoutMillis) throws InterruptedException {
        waitUntil(() -> Long.compareUnsigned(indexed, lsn) >= 0 || !indexError.isEmpty(), timeoutMillis);
        return indexed;
    }

    /** Caller holds the monitor: waits until {@code done} holds or the time is up. */
    private void waitUntil(java.util.function.BooleanSupplier done, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (!done.getAsBoolean()) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                return;
            }
            wait(left);
        }
    }

    /** Wakes the waiters (at shutdown). */
    public synchronized void wakeAll() {
        notifyAll();
    }
}
