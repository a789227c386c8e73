package org.dbfs.fuse;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.cryptomator.jfuse.api.DirFiller;
import org.cryptomator.jfuse.api.Errno;
import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.FuseConfig;
import org.cryptomator.jfuse.api.FuseConnInfo;
import org.cryptomator.jfuse.api.FuseOperations;
import org.cryptomator.jfuse.api.Stat;
import org.cryptomator.jfuse.api.Statvfs;
import org.cryptomator.jfuse.api.TimeSpec;
import org.dbfs.pgformat.ForkNumber;
import org.dbfs.pgformat.RelationPath;
import org.dbfs.pgformat.RelationSegmentFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A read-only mount: the standby's data directory is the overlay's copy ({@link ReplicaOverlay}),
 * and every operation but one goes to it as to a local file system. The exception is relation
 * files' contents: their pages are read from the page server at B ({@link ReplicaPages}), and the
 * standby's writes of main-fork pages are dropped, keeping only the file's size, because a read at
 * B gives the same page back (see {@link ReplicaReadPoint}). Visibility-map and free-space-map
 * pages the standby writes stay in the overlay: a cleared VM bit does not move the VM page's LSN,
 * so the standby's own VM must be kept; its pages are read from there once written, which a
 * zero page says they were not.
 *
 * <p>Nothing here writes to the page server: the client's connections are read-only, so a write
 * would be refused there.
 */
final class ReplicaFileSystem implements FuseOperations {
    private static final Logger log = LoggerFactory.getLogger(ReplicaFileSystem.class);
    private static final int PAGE = ReplicaPages.PAGE;
    private static final int RENAME_NOREPLACE = 1;
    private static final int RENAME_EXCHANGE = 2;
    private static final int UNCHANGED_ID = -1;

    /** An open file; {@code local} follows renames (libfuse renames a file unlinked while open). */
    private static final class Handle {
        volatile Path local;
        final String path;
        final FileChannel channel;
        final RelationSegmentFile rel;
        final Set<StandardOpenOption> flags;

        Handle(Path local, String path, FileChannel channel, RelationSegmentFile rel, Set<StandardOpenOption> flags) {
            this.local = local;
            this.path = path;
            this.channel = channel;
            this.rel = rel;
            this.flags = flags;
        }
    }

    /** An open file as a promotion hands it over: its handle, where it is now in the data directory, its open flags. */
    record OpenHandle(long fh, String path, Set<StandardOpenOption> flags) {}

    private final Errno errno;
    private final Path data;
    private final ReplicaPages pages;
    private final ReplicaReadPoint readPoint;
    private final FuseCallerContext callers;
    private final Map<Long, Handle> handles = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);
    private final LongAdder droppedPageWrites = new LongAdder();

    ReplicaFileSystem(Errno errno, Path data, ReplicaPages pages, ReplicaReadPoint readPoint, FuseCallerContext callers) {
        this.errno = errno;
        this.data = data;
        this.pages = pages;
        this.readPoint = readPoint;
        this.callers = callers;
    }

    long droppedPageWrites() {
        return droppedPageWrites.sum();
    }

    @Override
    public Errno errno() {
        return errno;
    }

    @Override
    public Set<Operation> supportedOperations() {
        return DbfsFileSystem.OPERATIONS;
    }

    @Override
    public void init(FuseConnInfo conn, FuseConfig cfg) {
        conn.setMaxWrite(1 << 20);
        // No writeback cache: each write must reach this mount at once, pg_control's above all
        // (B follows it before the page write that depends on it arrives).
        conn.setWant(conn.want() & ~FuseConnInfo.FUSE_CAP_AUTO_INVAL_DATA & ~FuseConnInfo.FUSE_CAP_WRITEBACK_CACHE);
        conn.setMaxBackground(64);
        conn.setCongestionThreshold(48);
    }

    // ---- attributes and lookup ----

    @Override
    public int getattr(String path, Stat stat, FileInfo fi) {
        return guard("getattr", path, () -> {
            Map<String, Object> a = Files.readAttributes(local(path), "unix:*", LinkOption.NOFOLLOW_LINKS);
            stat.setMode((Integer) a.get("mode"));
            stat.setUid((Integer) a.get("uid"));
            stat.setGid((Integer) a.get("gid"));
            stat.setNLink((short) (int) (Integer) a.get("nlink"));
            stat.setSize((Long) a.get("size"));
            stat.aTime().set(((FileTime) a.get("lastAccessTime")).toInstant());
            stat.mTime().set(((FileTime) a.get("lastModifiedTime")).toInstant());
            stat.cTime().set(((FileTime) a.get("ctime")).toInstant());
            return 0;
        });
    }

    @Override
    public int access(String path, int mask) {
        return guard("access", path, () -> Files.exists(local(path), LinkOption.NOFOLLOW_LINKS) ? 0 : -LinuxErrno.ENOENT);
    }

    @Override
    public int readdir(String path, DirFiller filler, long offset, FileInfo fi, int flags) {
        return guard("readdir", path, () -> {
            filler.fill(".", stat -> stat.setMode(Stat.S_IFDIR), 0, 0);
            filler.fill("..", stat -> stat.setMode(Stat.S_IFDIR), 0, 0);
            try (DirectoryStream<Path> dir = Files.newDirectoryStream(local(path))) {
                for (Path p : dir) {
                    if (filler.fill(p.getFileName().toString(), stat -> { }, 0, 0) != 0) {
                        return -LinuxErrno.EIO;
                    }
                }
            }
            return 0;
        });
    }

    @Override
    public int readlink(String path, ByteBuffer buf, long len) {
        return guard("readlink", path, () -> {
            DbfsFileSystem.putLinkTarget(Files.readSymbolicLink(local(path)).toString(), buf, len);
            return 0;
        });
    }

    @Override
    public int statfs(String path, Statvfs statvfs) {
        return guard("statfs", path, () -> {
            FileStore store = Files.getFileStore(data);
            long block = store.getBlockSize();
            statvfs.setBsize(block);
            statvfs.setFrsize(block);
            statvfs.setBlocks(store.getTotalSpace() / block);
            statvfs.setBfree(store.getUnallocatedSpace() / block);
            statvfs.setBavail(store.getUsableSpace() / block);
            statvfs.setNameMax(255);
            return 0;
        });
    }

    // ---- namespace changes: all in the overlay ----

    @Override
    public int mkdir(String path, int mode) {
        return guard("mkdir", path, () -> {
            Path p = Files.createDirectory(local(path));
            ownByCaller(p, mode);
            return 0;
        });
    }

    @Override
    public int rmdir(String path) {
        return guard("rmdir", path, () -> {
            if (!Files.isDirectory(local(path), LinkOption.NOFOLLOW_LINKS)) {
                return -20; // ENOTDIR
            }
            Files.delete(local(path));
            return 0;
        });
    }

    @Override
    public int unlink(String path) {
        return guard("unlink", path, () -> {
            if (Files.isDirectory(local(path), LinkOption.NOFOLLOW_LINKS)) {
                return -21; // EISDIR
            }
            Files.delete(local(path));
            return 0;
        });
    }

    @Override
    public int rename(String from, String to, int flags) {
        return guard("rename", from, () -> {
            if ((flags & RENAME_EXCHANGE) != 0) {
                return -LinuxErrno.EINVAL;
            }
            if ((flags & RENAME_NOREPLACE) != 0 && Files.exists(local(to), LinkOption.NOFOLLOW_LINKS)) {
                return -LinuxErrno.EEXIST;
            }
            Path source = local(from);
            Path target = local(to);
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE); // rename(2): replaces the target
            for (Handle h : handles.values()) {
                Path p = h.local;
                if (p.startsWith(source)) {
                    h.local = target.resolve(source.relativize(p));
                }
            }
            return 0;
        });
    }

    @Override
    public int symlink(String target, String linkPath) {
        return guard("symlink", linkPath, () -> {
            Path p = Files.createSymbolicLink(local(linkPath), Path.of(target));
            FuseCallerContext.Caller caller = callers.current();
            Files.setAttribute(p, "unix:uid", caller.uid(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(p, "unix:gid", caller.gid(), LinkOption.NOFOLLOW_LINKS);
            return 0;
        });
    }

    @Override
    public int chmod(String path, int mode, FileInfo fi) {
        return guard("chmod", path, () -> {
            Files.setAttribute(local(path), "unix:mode", mode & 07777);
            return 0;
        });
    }

    @Override
    public int chown(String path, int uid, int gid, FileInfo fi) {
        return guard("chown", path, () -> {
            if (uid != UNCHANGED_ID) {
                Files.setAttribute(local(path), "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
            }
            if (gid != UNCHANGED_ID) {
                Files.setAttribute(local(path), "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
            }
            return 0;
        });
    }

    @Override
    public int utimens(String path, TimeSpec atime, TimeSpec mtime, FileInfo fi) {
        return guard("utimens", path, () -> {
            Instant now = Instant.now();
            FileTime a = atime.isUtimeOmit() ? null : FileTime.from(atime.isUtimeNow() ? now : atime.get());
            FileTime m = mtime.isUtimeOmit() ? null : FileTime.from(mtime.isUtimeNow() ? now : mtime.get());
            Files.getFileAttributeView(local(path), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(m, a, null);
            return 0;
        });
    }

    @Override
    public int truncate(String path, long size, FileInfo fi) {
        return guard("truncate", path, () -> {
            Handle h = fi == null ? null : handles.get(fi.getFh());
            if (h != null && size <= h.channel.size()) {
                h.channel.truncate(size);
            } else {
                LibcTruncate.truncate(h != null ? h.local : local(path), size);
            }
            return 0;
        });
    }

    // ---- file data ----

    @Override
    public int create(String path, int mode, FileInfo fi) {
        return guard("create", path, () -> {
            Path p = local(path);
            boolean existed = Files.exists(p, LinkOption.NOFOLLOW_LINKS);
            Set<OpenOption> options = openOptions(fi.getOpenFlags());
            options.add(fi.getOpenFlags().contains(StandardOpenOption.CREATE_NEW) ? StandardOpenOption.CREATE_NEW
                    : StandardOpenOption.CREATE);
            FileChannel channel = FileChannel.open(p, options);
            if (!existed) {
                ownByCaller(p, mode);
            }
            fi.setFh(register(path, p, channel, fi.getOpenFlags()));
            return 0;
        });
    }

    @Override
    public int open(String path, FileInfo fi) {
        return guard("open", path, () -> {
            Path p = local(path);
            fi.setFh(register(path, p, FileChannel.open(p, openOptions(fi.getOpenFlags())), fi.getOpenFlags()));
            return 0;
        });
    }

    @Override
    public int read(String path, ByteBuffer buf, long size, long offset, FileInfo fi) {
        return guard("read", path, () -> {
            Handle h = handles.get(fi.getFh());
            if (h == null) {
                return -LinuxErrno.EBADF;
            }
            long fileSize = h.channel.size();
            if (offset >= fileSize) {
                return 0;
            }
            int n = (int) Math.min(size, fileSize - offset);
            if (h.rel == null) {
                return readFully(h.channel, buf.slice(0, n), offset);
            }
            byte[] out = new byte[n];
            byte[] page = new byte[PAGE];
            for (long pos = offset; pos < offset + n; ) {
                long pageInFile = pos / PAGE;
                int within = (int) (pos % PAGE);
                int take = (int) Math.min(PAGE - within, offset + n - pos);
                relationPage(h, pageInFile, page);
                System.arraycopy(page, within, out, (int) (pos - offset), take);
                pos += take;
            }
            buf.put(0, out, 0, n);
            return n;
        });
    }

    /** A relation page: the standby's own copy of a VM or FSM page it wrote, else the page server's at B. */
    private void relationPage(Handle h, long pageInFile, byte[] page) throws IOException {
        if (h.rel.forkNum() != ForkNumber.MAIN_FORKNUM) {
            int got = readFully(h.channel, ByteBuffer.wrap(page), pageInFile * PAGE);
            if (got == PAGE && !isZero(page)) {
                return;
            }
        }
        pages.read(h.rel.rel(), h.rel.firstBlock() + pageInFile, page, 0);
    }

    @Override
    public int write(String path, ByteBuffer buf, long size, long offset, FileInfo fi) {
        return guard("write", path, () -> {
            Handle h = handles.get(fi.getFh());
            if (h == null) {
                return -LinuxErrno.EBADF;
            }
            if (h.rel != null && h.rel.forkNum() == ForkNumber.MAIN_FORKNUM) {
                // Dropped: a read at B gives the page back. Only the standby's view of the size stays.
                droppedPageWrites.add((size + PAGE - 1) / PAGE);
                if (offset + size > h.channel.size()) {
                    try {
                        LibcTruncate.truncate(h.local, offset + size);
                    } catch (java.nio.file.NoSuchFileException unlinked) {
                        // unlinked meanwhile, as PostgreSQL's own write to it would be lost: nothing to keep
                    }
                }
                return (int) size;
            }
            ByteBuffer src = buf.slice(0, (int) size);
            int written = 0;
            while (src.hasRemaining()) {
                written += h.channel.write(src, offset + written);
            }
            if (h.path.equals(DataDirectoryCopy.CONTROL_FILE)) {
                readPoint.controlFileWritten();
            }
            return written;
        });
    }

    @Override
    public int flush(String path, FileInfo fi) {
        return -LinuxErrno.ENOSYS; // as the read-write mount's: no FLUSH at every close (DbfsFileSystem#flush)
    }

    @Override
    public int fsync(String path, int datasync, FileInfo fi) {
        return guard("fsync", path, () -> {
            Handle h = fi == null ? null : handles.get(fi.getFh());
            if (h != null) {
                h.channel.force(datasync == 0);
            } else {
                LocalFiles.fsync(local(path));
            }
            return 0;
        });
    }

    @Override
    public int fsyncdir(String path, int datasync, FileInfo fi) {
        return guard("fsyncdir", path, () -> {
            LocalFiles.fsync(local(path));
            return 0;
        });
    }

    @Override
    public int release(String path, FileInfo fi) {
        return guard("release", path, () -> {
            Handle h = handles.remove(fi.getFh());
            if (h != null) {
                h.channel.close();
            }
            return 0;
        });
    }

    // ---- helpers ----

    private long register(String path, Path p, FileChannel channel, Set<StandardOpenOption> flags) {
        Optional<RelationSegmentFile> rel = RelationPath.parse(path);
        long fh = nextHandle.getAndIncrement();
        handles.put(fh, new Handle(p, path, channel, rel.orElse(null), Set.copyOf(flags)));
        return fh;
    }

    /** The data directory's copy in the overlay. */
    Path dataDirectory() {
        return data;
    }

    /** The highest handle number issued so far. */
    long lastHandle() {
        return nextHandle.get() - 1;
    }

    /**
     * The open files, for a promotion to take over, and closes them here. A file unlinked while
     * open (no longer in the data directory) is left out: its handle then fails with EBADF.
     */
    java.util.List<OpenHandle> handOver() {
        java.util.List<OpenHandle> out = new java.util.ArrayList<>();
        for (var e : handles.entrySet()) {
            Handle h = e.getValue();
            if (Files.exists(h.local, LinkOption.NOFOLLOW_LINKS)) {
                out.add(new OpenHandle(e.getKey(), "/" + data.relativize(h.local), h.flags));
            }
            try {
                h.channel.close();
            } catch (IOException ignored) {
                // the overlay's copy is no longer used
            }
        }
        handles.clear();
        return out;
    }

    private static Set<OpenOption> openOptions(Set<StandardOpenOption> flags) {
        Set<OpenOption> o = new HashSet<>();
        for (StandardOpenOption f : flags) {
            switch (f) {
                case READ, WRITE, TRUNCATE_EXISTING, SYNC, DSYNC -> o.add(f);
                default -> { } // APPEND: the kernel sends each write's offset; CREATE*: create() decides
            }
        }
        if (!o.contains(StandardOpenOption.WRITE)) {
            o.add(StandardOpenOption.READ);
        }
        return o;
    }

    private void ownByCaller(Path p, int mode) throws IOException {
        FuseCallerContext.Caller caller = callers.current();
        LocalFiles.setOwnerAndMode(p, caller.uid(), caller.gid(), mode);
    }

    /** Reads until {@code dst} is full or the file ends; returns the bytes read. */
    private static int readFully(FileChannel channel, ByteBuffer dst, long position) throws IOException {
        int got = 0;
        while (dst.hasRemaining()) {
            int r = channel.read(dst, position + got);
            if (r < 0) {
                break;
            }
            got += r;
        }
        return got;
    }

    private static boolean isZero(byte[] page) {
        for (byte b : page) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    private Path local(String path) {
        return path.equals("/") ? data : data.resolve(path.substring(1));
    }

    private interface Body {
        int run() throws IOException;
    }

    private int guard(String operation, String path, Body body) {
        try {
            return body.run();
        } catch (IOException e) {
            int code = LocalFiles.errno(e);
            if (code == 5) {
                log.error("{} {}: overlay I/O failed, returning EIO", operation, path, e);
            }
            return -code;
        } catch (StatusRuntimeException e) {
            return -LinuxErrno.EIO; // ReplicaPages logged what and at which B
        } catch (Throwable t) {
            log.error("{} {}: unexpected failure, returning EIO", operation, path, t);
            return -LinuxErrno.EIO;
        }
    }
}
