package org.dbfs.fuse;

import java.nio.ByteBuffer;
import java.util.Set;
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
 * Every FUSE request the kernel sends, timed by opcode into the mount's metrics; then the file
 * system's own answer, unchanged. The supported operations are the file system's, so the kernel
 * is told exactly what it was told without metrics.
 */
final class TimedOperations implements FuseOperations {
    private final FuseOperations fs;
    private final MountMetrics metrics;

    TimedOperations(FuseOperations fs, MountMetrics metrics) {
        this.fs = fs;
        this.metrics = metrics;
    }

    private int timed(String op, IntSupplier call) {
        long start = System.nanoTime();
        int result = call.getAsInt();
        metrics.fuseRequest(op, System.nanoTime() - start, result < 0);
        return result;
    }

    @Override
    public Errno errno() {
        return fs.errno();
    }

    @Override
    public Set<Operation> supportedOperations() {
        return fs.supportedOperations();
    }

    @Override
    public int getattr(String path, Stat stat, FileInfo fi) {
        return timed("getattr", () -> fs.getattr(path, stat, fi));
    }

    @Override
    public int readlink(String path, ByteBuffer buf, long len) {
        return timed("readlink", () -> fs.readlink(path, buf, len));
    }

    @Override
    public int mknod(String path, short mode, int rdev) {
        return timed("mknod", () -> fs.mknod(path, mode, rdev));
    }

    @Override
    public int mkdir(String path, int mode) {
        return timed("mkdir", () -> fs.mkdir(path, mode));
    }

    @Override
    public int unlink(String path) {
        return timed("unlink", () -> fs.unlink(path));
    }

    @Override
    public int rmdir(String path) {
        return timed("rmdir", () -> fs.rmdir(path));
    }

    @Override
    public int symlink(String linkname, String target) {
        return timed("symlink", () -> fs.symlink(linkname, target));
    }

    @Override
    public int rename(String oldpath, String newpath, int flags) {
        return timed("rename", () -> fs.rename(oldpath, newpath, flags));
    }

    @Override
    public int link(String linkname, String target) {
        return timed("link", () -> fs.link(linkname, target));
    }

    @Override
    public int chmod(String path, int mode, FileInfo fi) {
        return timed("chmod", () -> fs.chmod(path, mode, fi));
    }

    @Override
    public int chown(String path, int uid, int gid, FileInfo fi) {
        return timed("chown", () -> fs.chown(path, uid, gid, fi));
    }

    @Override
    public int truncate(String path, long size, FileInfo fi) {
        return timed("truncate", () -> fs.truncate(path, size, fi));
    }

    @Override
    public int open(String path, FileInfo fi) {
        return timed("open", () -> fs.open(path, fi));
    }

    @Override
    public int read(String path, ByteBuffer buf, long size, long offset, FileInfo fi) {
        // The hottest request, timed without a lambda (as write and fsync are).
        long start = System.nanoTime();
        int result = fs.read(path, buf, size, offset, fi);
        metrics.fuseRequest("read", System.nanoTime() - start, result < 0);
        return result;
    }

    /** Linux's O_DSYNC (O_SYNC includes it): each write(2) on such a handle returns only once durable. */
    private static final int O_DSYNC = 0x1000;

    @Override
    public int write(String path, ByteBuffer buf, long size, long offset, FileInfo fi) {
        long start = System.nanoTime();
        int result = fs.write(path, buf, size, offset, fi);
        long nanos = System.nanoTime() - start;
        metrics.fuseRequest("write", nanos, result < 0);
        // PostgreSQL's WAL with wal_sync_method = open_datasync: its commits wait here, not in fsync.
        if ((fi.getFlags() & O_DSYNC) != 0) {
            metrics.durable("o_dsync_write", nanos);
        }
        return result;
    }

    @Override
    public int statfs(String path, Statvfs statvfs) {
        return timed("statfs", () -> fs.statfs(path, statvfs));
    }

    @Override
    public int flush(String path, FileInfo fi) {
        return timed("flush", () -> fs.flush(path, fi));
    }

    @Override
    public int release(String path, FileInfo fi) {
        return timed("release", () -> fs.release(path, fi));
    }

    @Override
    public int fsync(String path, int datasync, FileInfo fi) {
        long start = System.nanoTime();
        int result = fs.fsync(path, datasync, fi);
        long nanos = System.nanoTime() - start;
        metrics.fuseRequest("fsync", nanos, result < 0);
        metrics.durable(datasync != 0 ? "fdatasync" : "fsync", nanos);
        return result;
    }

    @Override
    public int setxattr(String path, String name, ByteBuffer value, int flags) {
        return timed("setxattr", () -> fs.setxattr(path, name, value, flags));
    }

    @Override
    public int getxattr(String path, String name, ByteBuffer value) {
        return timed("getxattr", () -> fs.getxattr(path, name, value));
    }

    @Override
    public int listxattr(String path, ByteBuffer list) {
        return timed("listxattr", () -> fs.listxattr(path, list));
    }

    @Override
    public int removexattr(String path, String name) {
        return timed("removexattr", () -> fs.removexattr(path, name));
    }

    @Override
    public int opendir(String path, FileInfo fi) {
        return timed("opendir", () -> fs.opendir(path, fi));
    }

    @Override
    public int readdir(String path, DirFiller filler, long offset, FileInfo fi, int flags) {
        return timed("readdir", () -> fs.readdir(path, filler, offset, fi, flags));
    }

    @Override
    public int releasedir(String path, FileInfo fi) {
        return timed("releasedir", () -> fs.releasedir(path, fi));
    }

    @Override
    public int fsyncdir(String path, int datasync, FileInfo fi) {
        return timed("fsyncdir", () -> fs.fsyncdir(path, datasync, fi));
    }

    @Override
    public void init(FuseConnInfo conn, FuseConfig cfg) {
        fs.init(conn, cfg);
    }

    @Override
    public void destroy() {
        fs.destroy();
    }

    @Override
    public int access(String path, int mask) {
        return timed("access", () -> fs.access(path, mask));
    }

    @Override
    public int create(String path, int mode, FileInfo fi) {
        return timed("create", () -> fs.create(path, mode, fi));
    }

    @Override
    public int utimens(String path, TimeSpec atime, TimeSpec mtime, FileInfo fi) {
        return timed("utimens", () -> fs.utimens(path, atime, mtime, fi));
    }

    @Override
    public int ioctl(String path, int cmd, ByteBuffer arg, FileInfo fi, int flags, ByteBuffer data) {
        return timed("ioctl", () -> fs.ioctl(path, cmd, arg, fi, flags, data));
    }

    @Override
    public int flock(String path, FileInfo fi, int op) {
        return timed("flock", () -> fs.flock(path, fi, op));
    }

    @Override
    public int fallocate(String path, int mode, long offset, long length, FileInfo fi) {
        return timed("fallocate", () -> fs.fallocate(path, mode, offset, length, fi));
    }
}
