package org.dbfs.fuse;

import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.IntSupplier;
import org.cryptomator.jfuse.api.DirFiller;
import org.cryptomator.jfuse.api.Errno;
import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.FuseConfig;
import org.cryptomator.jfuse.api.FuseConnInfo;
import org.cryptomator.jfuse.api.FuseOperations;
import org.cryptomator.jfuse.api.Stat;
import org.cryptomator.jfuse.api.Statvfs;
import org.cryptomator.jfuse.api.TimeSpec;

/**
 * The file system a read-only mount runs, which a promotion replaces by a read-write one while
 * PostgreSQL keeps running on the mount: every operation runs under the read side of a lock, the
 * switch under the write side, so no operation straddles it. Handle numbers survive the switch
 * (the new file system adopts the old one's, {@link DbfsFileSystem#adopt}).
 *
 * <p>The switch is made from inside the rename that installs the new timeline's history file in
 * {@code pg_wal} ({@link Promotion}): PostgreSQL writes it first when it ends recovery, before any
 * WAL or page of the new timeline, and names there the exact LSN its new timeline branches at.
 * Unarmed, that rename is refused (EPERM) for a timeline the page server does not have yet: a
 * {@code pg_ctl promote} that fencectl did not arm would otherwise make a primary whose page
 * writes the read-only mount drops, while the old primary may still write. A history file of a
 * timeline the page server has is a standby following its primary onto it, and goes through.
 */
final class SwitchableFileSystem implements FuseOperations {
    /** What runs the switch; null while no promotion is armed. */
    interface Promotion {
        /** @return whether {@code to} is the history file a promotion waits for */
        boolean triggers(String to);

        /** Builds the read-write file system; runs with every other operation held off. */
        FuseOperations promote(String historyFileFrom, String historyFileTo) throws Exception;
    }

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final FuseOperations initial;
    private volatile FuseOperations current;
    private volatile Promotion promotion;
    private volatile IntSupplier finalSync = () -> 0;
    private final IntSupplier pageServerTimeline;
    private final String timeTravelPoint; // a time-travel mount's point, for messages; null on a replica

    /** @param pageServerTimeline the page server's current timeline (asked only when a history file is installed) */
    SwitchableFileSystem(FuseOperations initial, IntSupplier pageServerTimeline) {
        this(initial, pageServerTimeline, null);
    }

    private SwitchableFileSystem(FuseOperations initial, IntSupplier pageServerTimeline, String timeTravelPoint) {
        this.initial = initial;
        this.current = initial;
        this.pageServerTimeline = pageServerTimeline;
        this.timeTravelPoint = timeTravelPoint;
    }

    /**
     * A time-travel mount's: no timeline past {@code timeline} (the point's) may start, so the
     * standby can only stay in recovery at its point. Ending recovery (pg_wal_replay_resume() at
     * the target promotes) would start a timeline the page server never sees, on a copy of the past.
     */
    static SwitchableFileSystem timeTravel(FuseOperations initial, int timeline, String point) {
        return new SwitchableFileSystem(initial, () -> timeline, point);
    }

    void arm(Promotion p) {
        this.promotion = p;
    }

    boolean switched() {
        return current != initial;
    }

    /** What unmount runs to make everything durable: nothing while read-only. */
    int syncAll() {
        return finalSync.getAsInt();
    }

    @Override
    public Errno errno() {
        return initial.errno();
    }

    @Override
    public Set<Operation> supportedOperations() {
        return DbfsFileSystem.OPERATIONS;
    }

    @Override
    public void init(FuseConnInfo conn, FuseConfig cfg) {
        initial.init(conn, cfg);
    }

    @Override
    public int rename(String from, String to, int flags) {
        Promotion p = promotion;
        if (p == null && !switched() && isUnarmedPromotion(to)) {
            return -LinuxErrno.EPERM;
        }
        if (p != null && !switched() && p.triggers(to)) {
            lock.writeLock().lock();
            try {
                if (!switched()) {
                    FuseOperations next;
                    try {
                        next = p.promote(from, to);
                    } catch (Exception e) {
                        org.slf4j.LoggerFactory.getLogger(SwitchableFileSystem.class).error(
                                "PROMOTION FAILED; the mount stays read-only and PostgreSQL's promotion fails here", e);
                        return -LinuxErrno.EIO;
                    }
                    if (next instanceof DbfsFileSystem rw) {
                        finalSync = rw::syncAll;
                    }
                    current = next;
                    promotion = null;
                }
            } finally {
                lock.writeLock().unlock();
            }
        }
        return run(() -> current.rename(from, to, flags));
    }

    private boolean isUnarmedPromotion(String to) {
        java.util.OptionalInt timeline = ReplicaPromotion.historyTimeline(to);
        if (timeline.isEmpty()) {
            return false;
        }
        org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SwitchableFileSystem.class);
        int known;
        try {
            known = pageServerTimeline.getAsInt();
        } catch (RuntimeException e) {
            log.error("refusing {}: the page server cannot say whether timeline {} exists ({}); PostgreSQL retries", to,
                    timeline.getAsInt(), e.toString());
            return true;
        }
        if (timeline.getAsInt() <= known) {
            return false;
        }
        if (timeTravelPoint != null) {
            log.error("REFUSED: PostgreSQL on this time-travel mount (as of {}) tried to end recovery and start timeline {}"
                    + " ({}), e.g. after pg_wal_replay_resume(). A time-travel mount stays at its point: start PostgreSQL"
                    + " again (pg_ctl start) to have it paused there. For a writable copy, create a branch",
                    timeTravelPoint, timeline.getAsInt(), to);
            return true;
        }
        log.error("REFUSED: PostgreSQL on this read-only mount tried to start timeline {} ({}), which the page server (timeline {})"
                + " does not have: a promotion nobody armed, such as pg_ctl promote. The old primary may still write, and this"
                + " mount would drop the new one's pages. Promote with fencectl promote, which fences the old primary first;"
                + " restart this standby (pg_ctl start) to go on replicating", timeline.getAsInt(), to, known);
        return true;
    }

    private int run(IntSupplier op) {
        lock.readLock().lock();
        try {
            return op.getAsInt();
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public int getattr(String path, Stat stat, FileInfo fi) {
        return run(() -> current.getattr(path, stat, fi));
    }

    @Override
    public int access(String path, int mask) {
        return run(() -> current.access(path, mask));
    }

    @Override
    public int readdir(String path, DirFiller filler, long offset, FileInfo fi, int flags) {
        return run(() -> current.readdir(path, filler, offset, fi, flags));
    }

    @Override
    public int readlink(String path, ByteBuffer buf, long len) {
        return run(() -> current.readlink(path, buf, len));
    }

    @Override
    public int statfs(String path, Statvfs statvfs) {
        return run(() -> current.statfs(path, statvfs));
    }

    @Override
    public int mkdir(String path, int mode) {
        return run(() -> current.mkdir(path, mode));
    }

    @Override
    public int rmdir(String path) {
        return run(() -> current.rmdir(path));
    }

    @Override
    public int unlink(String path) {
        return run(() -> current.unlink(path));
    }

    @Override
    public int symlink(String target, String linkPath) {
        return run(() -> current.symlink(target, linkPath));
    }

    @Override
    public int link(String from, String to) {
        return run(() -> current.link(from, to));
    }

    @Override
    public int mknod(String path, short mode, int rdev) {
        return run(() -> current.mknod(path, mode, rdev));
    }

    @Override
    public int chmod(String path, int mode, FileInfo fi) {
        return run(() -> current.chmod(path, mode, fi));
    }

    @Override
    public int chown(String path, int uid, int gid, FileInfo fi) {
        return run(() -> current.chown(path, uid, gid, fi));
    }

    @Override
    public int utimens(String path, TimeSpec atime, TimeSpec mtime, FileInfo fi) {
        return run(() -> current.utimens(path, atime, mtime, fi));
    }

    @Override
    public int truncate(String path, long size, FileInfo fi) {
        return run(() -> current.truncate(path, size, fi));
    }

    @Override
    public int create(String path, int mode, FileInfo fi) {
        return run(() -> current.create(path, mode, fi));
    }

    @Override
    public int open(String path, FileInfo fi) {
        return run(() -> current.open(path, fi));
    }

    @Override
    public int read(String path, ByteBuffer buf, long size, long offset, FileInfo fi) {
        return run(() -> current.read(path, buf, size, offset, fi));
    }

    @Override
    public int write(String path, ByteBuffer buf, long size, long offset, FileInfo fi) {
        return run(() -> current.write(path, buf, size, offset, fi));
    }

    @Override
    public int flush(String path, FileInfo fi) {
        return run(() -> current.flush(path, fi));
    }

    @Override
    public int fsync(String path, int datasync, FileInfo fi) {
        return run(() -> current.fsync(path, datasync, fi));
    }

    @Override
    public int fsyncdir(String path, int datasync, FileInfo fi) {
        return run(() -> current.fsyncdir(path, datasync, fi));
    }

    @Override
    public int release(String path, FileInfo fi) {
        return run(() -> current.release(path, fi));
    }
}
