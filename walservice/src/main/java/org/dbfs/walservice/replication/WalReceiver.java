package org.dbfs.walservice.replication;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.walservice.archive.FollowedTimelines;
import org.dbfs.walservice.wal.DurablePosition;
import org.dbfs.walservice.wal.DurableWalWriter;
import org.dbfs.walservice.wal.LocalWal;
import org.dbfs.walservice.wal.LocalWalFailedException;
import org.dbfs.walservice.wal.PositionFile;
import org.dbfs.walservice.wal.WalPositions;
import org.dbfs.walservice.wal.WalSegments;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The physical replication client. Runs on its own thread: connects, makes sure of the slot,
 * streams WAL into the {@link DurableWalWriter} and reports the flushed position back only after
 * the fsync, so a synchronous primary's COMMIT waits for this service's durability (zero RPO).
 * When the primary goes away it flushes what it has and reconnects with backoff, forever, until
 * {@link #stop()}; only a {@link PrimaryRefusedException} (wrong timeline or system) ends it.
 *
 * <p>The replication connection's {@code application_name} is the slot name, so
 * {@code synchronous_standby_names} on the primary names the slot.
 *
 * <p>Resume rule: streaming always starts at the durable position (the position file), or on the
 * very first start at the WAL page holding the slot's restart_lsn. Every XLogData message must
 * start exactly where the log ends, so there can be no gap and no duplicate.
 */
public final class WalReceiver implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(WalReceiver.class);

    /** Group commit: fsync when the stream has nothing more ready, or after this many unsynced bytes. */
    static final long FSYNC_EVERY_BYTES = 1 << 20;
    static final long BACKOFF_MIN_MS = 250;
    static final long BACKOFF_MAX_MS = 5_000;

    private volatile PrimaryConnInfo primary;
    private final String slot;
    private final Path dataDir;
    private final WalPositions positions;
    private final PositionFile positionFile;
    private volatile boolean stopping;
    private volatile long fencedEpoch; // non-zero while fenced: no session, nothing acknowledged
    private volatile boolean inSession;
    private final FollowState follow;
    private volatile Connection replication;
    private volatile RuntimeException fatal;
    private DurableWalWriter writer;

    /** What a timeline switch tells the archiver: start archiving this timeline; returns where it starts. */
    public interface TimelineSwitch {
        long switched(int timeline, long switchLsn);
    }

    private FollowedTimelines timelines;
    private TimelineSwitch onSwitch = (t, lsn) -> lsn;

    /** Follows timeline switches through {@code timelines}; tells the archiver by {@code onSwitch}. */
    public void followTimelines(FollowedTimelines timelines, TimelineSwitch onSwitch) {
        this.timelines = timelines;
        this.onSwitch = onSwitch;
        positions.timeline(timelines.get().current().timeline());
    }

    private int currentTimeline() {
        return timelines == null ? 1 : timelines.get().current().timeline();
    }

    public WalReceiver(PrimaryConnInfo primary, String slot, Path dataDir, WalPositions positions, DurableWalWriter resumed) {
        this.primary = primary;
        this.slot = slot;
        this.dataDir = dataDir;
        this.positions = positions;
        this.positionFile = new PositionFile(dataDir);
        this.writer = resumed;
        this.follow = new FollowState(dataDir);
        try {
            follow.fence().ifPresent(f -> {
                fencedEpoch = f.epoch();
                LOG.warn("walservice: fenced at epoch {} (F {}): following no primary until fencectl names the new one",
                        f.epoch(), Lsn.format(f.fenceLsn()));
            });
            var followed = follow.followed();
            if (followed.isPresent() && !followed.get().primary().isEmpty()) {
                this.primary = PrimaryConnInfo.parse(followed.get().primary());
                LOG.info("walservice: following {} (named by fencectl for epoch {}), not --primary", this.primary,
                        followed.get().epoch());
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read whom to follow in " + dataDir, e);
        }
    }

    /** Non-zero while fenced: the epoch of the fence. */
    public long fencedEpoch() {
        return fencedEpoch;
    }

    /**
     * Stops following the primary: remembers the fence first (a restart comes back fenced), ends the
     * session, makes what was received durable and returns where durable WAL ends (F). After this
     * returns, nothing more is acknowledged to any primary until {@link #follow}. A repeated fence
     * at the same or an older epoch returns F again.
     */
    public synchronized long fence(long epoch) throws IOException, InterruptedException {
        if (fencedEpoch != 0 && epoch <= fencedEpoch) {
            var f = follow.fence();
            if (f.isPresent() && f.get().fenceLsn() != 0) {
                return f.get().fenceLsn();
            }
        }
        follow.storeFence(new FollowState.Fence(epoch, 0));
        fencedEpoch = epoch;
        abortSession();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (inSession) {
            if (System.nanoTime() > deadline) {
                throw new IOException("the replication session did not end within 30 s of the fence");
            }
            Thread.sleep(5);
        }
        long fenceLsn;
        fenceLsn = writer == null ? 0 : writer.makeDurable();
        follow.storeFence(new FollowState.Fence(epoch, fenceLsn));
        LOG.warn("walservice: FENCED at epoch {}: stopped following {}; durable WAL ends at F = {}", epoch, primary,
                Lsn.format(fenceLsn));
        return fenceLsn;
    }

    /**
     * The new timeline branched at {@code switchLsn}. Durable WAL past it was the old timeline's: a
     * record it never finished (the switch is at or past the end of the last record this service
     * acknowledged, which fencectl checked), received again from the new primary.
     */
    private void switchTimeline(int timeline, long switchLsn) throws IOException {
        long flushed = writer == null ? 0 : writer.durable().flushedLsn();
        timelines.advance(timeline, switchLsn);
        long archiveFrom = onSwitch.switched(timeline, switchLsn);
        if (writer != null && Long.compareUnsigned(flushed, switchLsn) > 0) {
            writer.rewind(switchLsn, archiveFrom);
        } else {
            positions.rewind(flushed, archiveFrom);
        }
        positions.timeline(timeline);
        LOG.warn("walservice: timeline {} from {} on (durable WAL ended at {}; archiving again from {})", timeline,
                Lsn.format(switchLsn), Lsn.format(flushed), Lsn.format(archiveFrom));
    }

    /**
     * While fenced at {@code epoch}: appends WAL that continues the durable log at its end and makes
     * it durable (see AppendWal in walservice.proto). Returns the new durable end.
     */
    public synchronized long appendWhileFenced(long epoch, long start, byte[] data) throws IOException {
        if (fencedEpoch == 0 || fencedEpoch != epoch) {
            throw new PrimaryRefusedException("AppendWal is for a fenced service at epoch " + epoch + "; this one is "
                    + (fencedEpoch == 0 ? "not fenced" : "fenced at epoch " + fencedEpoch));
        }
        if (writer == null || writer.durable().flushedLsn() != start || writer.wal().writeLsn() != start) {
            throw new PrimaryRefusedException("AppendWal at " + Lsn.format(start) + " does not continue the durable log, which ends at "
                    + (writer == null ? "nothing" : Lsn.format(writer.durable().flushedLsn())));
        }
        writer.append(start, data, 0, data.length);
        long end = writer.makeDurable();
        LOG.warn("walservice: appended {} bytes of WAL a standby had received ({}..{}) while fenced at epoch {}", data.length,
                Lsn.format(start), Lsn.format(end), epoch);
        return end;
    }

    /**
     * Ends the fence: follows {@code next} (a conninfo; empty: the primary it had) as the writer of {@code epoch}.
     *
     * @throws PrimaryRefusedException if the service was fenced at a newer epoch
     */
    public synchronized void follow(long epoch, String next, int timeline, long switchLsn) throws IOException {
        if (fencedEpoch > epoch) {
            throw new PrimaryRefusedException("this service was fenced at epoch " + fencedEpoch + "; a primary of epoch "
                    + epoch + " is older and may not be followed");
        }
        PrimaryConnInfo target = next.isEmpty() ? primary : PrimaryConnInfo.parse(next);
        if (timeline != 0 && timeline != currentTimeline()) {
            if (timeline < currentTimeline() || timelines == null) {
                throw new PrimaryRefusedException("timeline " + timeline + " is not after this service's timeline " + currentTimeline());
            }
            if (fencedEpoch == 0) {
                throw new PrimaryRefusedException("a switch to timeline " + timeline + " needs a fence first (fencectl promote does both)");
            }
            switchTimeline(timeline, switchLsn);
        }
        follow.storeFollowed(new FollowState.Followed(epoch, next));
        primary = target;
        fencedEpoch = 0;
        LOG.info("walservice: following {} as the writer of epoch {}", target, epoch);
    }

    /** Opens the local log where the position file says it ends, or null if this data directory is new. */
    public static DurableWalWriter resume(Path dataDir, WalPositions positions) throws IOException {
        PositionFile file = new PositionFile(dataDir);
        var pos = file.load();
        if (pos.isEmpty()) {
            return null;
        }
        positions.layout(pos.get());
        LocalWal wal = LocalWal.open(walDir(dataDir), new WalSegments(pos.get().segmentSize()), pos.get().timeline(),
                pos.get().flushedLsn());
        return new DurableWalWriter(wal, file, positions, pos.get());
    }

    /** The timeline {@code primary} is on now, or empty if it cannot be asked (not up yet). */
    public static java.util.OptionalInt primaryTimeline(PrimaryConnInfo primary) {
        Properties p = new Properties();
        p.putAll(primary.properties());
        try (Connection sql = DriverManager.getConnection(primary.jdbcUrl(), p)) {
            return java.util.OptionalInt.of(PrimaryInfo.query(sql).timeline());
        } catch (SQLException e) {
            return java.util.OptionalInt.empty();
        }
    }

    public static Path walDir(Path dataDir) {
        return dataDir.resolve("wal");
    }

    /** The error that ended the receiver for good, if any. */
    public RuntimeException fatal() {
        return fatal;
    }

    @Override
    public void run() {
        long backoff = BACKOFF_MIN_MS;
        while (!stopping) {
            if (fencedEpoch != 0) {
                sleep(50);
                continue;
            }
            long before = positions.flushed();
            try {
                session();
            } catch (PrimaryRefusedException e) {
                LOG.error("walservice: refusing the primary {}: {}", primary, e.getMessage());
                fatal = e;
                return;
            } catch (LocalWalFailedException e) {
                LOG.error("walservice: FATAL: {}", e.getMessage(), e);
                fatal = e;
                return;
            } catch (SQLException | IOException | RuntimeException e) {
                if (stopping) {
                    break;
                }
                LOG.warn("walservice: lost the primary {} ({}); reconnecting in {} ms", primary, e.toString(), backoff);
            } finally {
                positions.primaryConnected(false);
                closeQuietly(replication);
                replication = null;
                flushQuietly();
            }
            if (stopping) {
                break;
            }
            if (positions.flushed() > before) {
                backoff = BACKOFF_MIN_MS; // it streamed for a while: the next failure is a new one
            }
            sleep(backoff);
            backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
        }
    }

    private void session() throws SQLException, IOException {
        inSession = true;
        try {
            fencedSession();
        } finally {
            inSession = false;
        }
    }

    private void fencedSession() throws SQLException, IOException {
        long slotRestart;
        PrimaryInfo info;
        try (Connection sql = DriverManager.getConnection(primary.jdbcUrl(), controlProperties())) {
            info = PrimaryInfo.query(sql);
            info.checkSupported();
            if (info.timeline() != currentTimeline()) {
                throw new IOException("the primary " + primary + " is on timeline " + info.timeline() + ", this service follows "
                        + "timeline " + currentTimeline() + " (after a promotion, fencectl promote names the new timeline; a"
                        + " branch's primary needs an empty bucket prefix and --data-dir of its own)");
            }
            slotRestart = ReplicationSlots.ensure(sql, slot);
        }
        ensureWriter(info, slotRestart);
        long start = writer.durable().flushedLsn();

        Connection conn = DriverManager.getConnection(primary.jdbcUrl(), replicationProperties());
        replication = conn;
        if (stopping || fencedEpoch != 0) {
            return; // fence() may have missed this connection: it must not stream
        }
        PGReplicationStream stream = conn.unwrap(PGConnection.class).getReplicationAPI()
                .replicationStream().physical()
                .withSlotName(slot)
                .withStartPosition(LogSequenceNumber.valueOf(start))
                .withStatusInterval(10, TimeUnit.SECONDS)
                .start();
        positions.primaryConnected(true);
        LOG.info("walservice: streaming from {} at {} (slot {}, restart_lsn {})", primary, Lsn.format(start), slot,
                Lsn.format(slotRestart));
        // Tell the primary at once what is durable here: commits that waited while this service was
        // away may need no new WAL at all, only this reply, to be released.
        reportDurable(stream);
        stream(stream);
    }

    private void stream(PGReplicationStream stream) throws SQLException, IOException {
        byte[] scratch = new byte[64 << 10];
        while (!stopping) {
            // Block only when everything received is already durable; otherwise peek, and fsync as
            // soon as nothing more is ready (group commit without a timer).
            ByteBuffer msg = writer.unsyncedBytes() > 0 ? stream.readPending() : stream.read();
            if (msg == null) {
                reportDurable(stream);
                continue;
            }
            int len = msg.remaining();
            long start = stream.getLastReceiveLSN().asLong() - len; // physical: lastReceiveLSN = dataStart + len
            if (scratch.length < len) {
                scratch = new byte[len];
            }
            msg.get(scratch, 0, len);
            writer.append(start, scratch, 0, len);
            if (writer.unsyncedBytes() >= FSYNC_EVERY_BYTES) {
                reportDurable(stream);
            }
        }
    }

    private void reportDurable(PGReplicationStream stream) throws IOException, SQLException {
        if (fencedEpoch != 0) {
            throw new IOException("fenced at epoch " + fencedEpoch + ": acknowledging nothing more");
        }
        long durable = writer.makeDurable();
        LogSequenceNumber lsn = LogSequenceNumber.valueOf(durable);
        stream.setFlushedLSN(lsn);
        stream.setAppliedLSN(lsn);
        stream.forceUpdateStatus();
    }

    private void ensureWriter(PrimaryInfo info, long slotRestart) throws IOException {
        if (writer != null) {
            DurablePosition d = writer.durable();
            if (d.systemIdentifier() != info.systemIdentifier() || d.segmentSize() != info.segmentSize()) {
                throw new PrimaryRefusedException("the local WAL in " + dataDir + " is from system " + Long.toUnsignedString(d.systemIdentifier())
                        + " timeline " + d.timeline() + " segment size " + d.segmentSize() + ", the primary is system "
                        + Long.toUnsignedString(info.systemIdentifier()) + " timeline " + info.timeline() + " segment size "
                        + info.segmentSize() + "; give this primary its own --data-dir and bucket");
            }
            return;
        }
        // First start: begin at the page holding restart_lsn, so the local log (and the archive)
        // start on a page header a decoder can use.
        long start = Lsn.pageStart(slotRestart);
        DurablePosition pos = new DurablePosition(info.systemIdentifier(), info.timeline(), info.segmentSize(), start, start);
        java.nio.file.Files.createDirectories(dataDir);
        positionFile.store(pos);
        LocalWal wal = LocalWal.open(walDir(dataDir), new WalSegments(info.segmentSize()), info.timeline(), start);
        writer = new DurableWalWriter(wal, positionFile, positions, pos);
        positions.layout(pos);
        LOG.info("walservice: new local WAL log in {} starting at {}", dataDir, Lsn.format(start));
    }

    private Properties controlProperties() {
        Properties p = new Properties();
        p.putAll(primary.properties());
        PGProperty.APPLICATION_NAME.set(p, slot + "-control");
        return p;
    }

    private Properties replicationProperties() {
        Properties p = new Properties();
        p.putAll(primary.properties());
        PGProperty.REPLICATION.set(p, "database");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(p, "9.4");
        PGProperty.PREFER_QUERY_MODE.set(p, "simple");
        // synchronous_standby_names names this.
        PGProperty.APPLICATION_NAME.set(p, slot);
        return p;
    }

    /**
     * Stops streaming (breaking a blocked read by aborting the connection), then makes everything
     * received durable. Call once, from another thread; returns after the receiver thread ended
     * if {@code thread} is given.
     */
    public void stop(Thread thread) throws InterruptedException {
        stopping = true;
        abortSession();
        if (thread != null) {
            thread.join(30_000);
        }
        flushQuietly();
        if (writer != null) {
            try {
                writer.close();
            } catch (IOException e) {
                LOG.warn("walservice: closing the local WAL: {}", e.toString());
            }
        }
    }

    /** Breaks the session's blocked read, if there is a session. */
    private void abortSession() {
        Connection c = replication;
        if (c != null) {
            try {
                c.abort(Runnable::run);
            } catch (SQLException e) {
                LOG.debug("abort", e);
            }
        }
    }

    private synchronized void flushQuietly() {
        if (writer == null) {
            return;
        }
        try {
            writer.makeDurable();
        } catch (IOException | RuntimeException e) {
            LOG.error("walservice: cannot make received WAL durable: {}", e.toString());
        }
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                // already broken
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
