package org.dbfs.fuse;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.cryptomator.jfuse.api.DirFiller;
import org.cryptomator.jfuse.api.Errno;
import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.FuseConfig;
import org.cryptomator.jfuse.api.FuseConnInfo;
import org.cryptomator.jfuse.api.FuseOperations;
import org.cryptomator.jfuse.api.Stat;
import org.cryptomator.jfuse.api.Statvfs;
import org.cryptomator.jfuse.api.TimeSpec;
import org.dbfs.pgformat.RelationPath;
import org.dbfs.pgformat.RelationSegmentFile;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.DirEntry;
import org.dbfs.protocol.pageserver.v1.LinkRequest;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.MutationReply;
import org.dbfs.protocol.pageserver.v1.NodeAttr;
import org.dbfs.protocol.pageserver.v1.NodeReply;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.ReadDirReply;
import org.dbfs.protocol.pageserver.v1.ReadFileReply;
import org.dbfs.protocol.pageserver.v1.ReadLinkReply;
import org.dbfs.protocol.pageserver.v1.RemoveRequest;
import org.dbfs.protocol.pageserver.v1.RenameRequest;
import org.dbfs.protocol.pageserver.v1.SetAttrRequest;
import org.dbfs.protocol.pageserver.v1.StatFsReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.IntSupplier;

/**
 * The read-write file system: each FUSE operation becomes page server calls. Namespace operations
 * go by path, file data by inode. Mutations are not durable when they return (durable=false); fsync
 * makes them so, through {@link SyncBarrier}.
 *
 * <p>Nothing may escape a callback: jfuse calls these methods from native upcalls, where an
 * uncaught exception ends the JVM, so every operation runs inside {@link #guard}.
 */
final class DbfsFileSystem implements FuseOperations {

    private static final Logger log = LoggerFactory.getLogger(DbfsFileSystem.class);

    private static final int RENAME_NOREPLACE = 1;
    private static final int RENAME_EXCHANGE = 2;
    private static final int NAME_MAX = 255;
    /** FUSE passes a uid/gid of -1 for "leave unchanged" (chown(2) semantics). */
    private static final int UNCHANGED_ID = -1;

    private final Errno errno;
    private final PageServerClient client;
    private final FuseCallerContext callers;
    private final TablespaceDirectory tablespaces;
    private final SyncBarrier syncBarrier;
    private final FileWrites writes;
    private final WriteBuffer buffer;
    private final OpenFiles openFiles = new OpenFiles();
    private final HiddenFiles hiddenFiles = new HiddenFiles();
    private final OpenFileAttrs openAttrs = new OpenFileAttrs();
    private final HardLinkNames links = new HardLinkNames();
    private final AttrInvalidation invalidation;

    DbfsFileSystem(Errno errno, PageServerClient client, FuseCallerContext callers, TablespaceDirectory tablespaces,
                   AttrInvalidation invalidation) {
        this.errno = errno;
        this.client = client;
        this.callers = callers;
        this.tablespaces = tablespaces;
        this.invalidation = invalidation;
        this.syncBarrier = new SyncBarrier(client);
        this.buffer = new WriteBuffer(client);
        this.writes = new FileWrites(client, syncBarrier, buffer, openAttrs);
    }

    /** Sends everything buffered and makes every acknowledged write durable. @return 0 or -EIO */
    int syncAll() {
        int flushed = buffer.flushAll(true);
        int synced = syncBarrier.sync();
        return flushed != 0 ? -LinuxErrno.EIO : synced;
    }

    @Override
    public Errno errno() {
        return errno;
    }

    /** What both mounts implement (the read-only one too: its overlay takes every write PostgreSQL makes). */
    static final Set<Operation> OPERATIONS = java.util.Collections.unmodifiableSet(EnumSet.of(Operation.INIT,
            Operation.ACCESS, Operation.GET_ATTR, Operation.READ_DIR, Operation.MKDIR, Operation.RMDIR, Operation.CREATE,
            Operation.OPEN, Operation.READ, Operation.WRITE, Operation.TRUNCATE, Operation.UNLINK, Operation.RENAME,
            Operation.FSYNC, Operation.FSYNCDIR, Operation.CHMOD, Operation.CHOWN, Operation.UTIMENS, Operation.STATFS,
            Operation.SYMLINK, Operation.READLINK, Operation.RELEASE, Operation.FLUSH));

    @Override
    public Set<Operation> supportedOperations() {
        return OPERATIONS;
    }

    @Override
    public void init(FuseConnInfo conn, FuseConfig cfg) {
        // Large writes cut the number of calls for sequential I/O (WAL, bulk loads, CREATE DATABASE);
        // libfuse lowers this to what its buffers and the kernel allow.
        conn.setMaxWrite(1 << 20);
        // The read-write mount is the only writer, so the kernel may own the page cache: with the
        // writeback cache it keeps written pages, trusts its own size and mtime, and sends dirty
        // pages at fsync (which waits for them, so fsync stays honest). Automatic invalidation
        // would instead drop a file's cached pages whenever the page server reports a new mtime,
        // sending every read of a busy relation through FUSE.
        int want = conn.want() & ~FuseConnInfo.FUSE_CAP_AUTO_INVAL_DATA;
        if ((conn.capable() & FuseConnInfo.FUSE_CAP_WRITEBACK_CACHE) != 0) {
            want |= FuseConnInfo.FUSE_CAP_WRITEBACK_CACHE;
        }
        conn.setWant(want);
        // More requests in flight for readahead and writeback (the defaults are 12 and 9).
        conn.setMaxBackground(64);
        conn.setCongestionThreshold(48);
        RawStat.useIno(cfg); // the page server's inode numbers: hard links show as one file
        log.info("FUSE session: protocol {}.{}, max_write {}, max_readahead {}, capable 0x{}, want 0x{}",
                conn.protoMajor(), conn.protoMinor(), conn.maxWrite(), conn.maxReadahead(),
                Integer.toHexString(conn.capable()), Integer.toHexString(conn.want()));
    }

    // ---- attributes and lookup ----

    @Override
    public int getattr(String path, Stat stat, FileInfo fi) {
        return guard("getattr", path, () -> {
            long linksVersion = links.version();
            OptionalLong open = openIno(path, fi);
            NodeAttr attr = open.isPresent() ? openAttrs.get(open.getAsLong()) : null;
            if (attr == null) {
                long generation = openAttrs.generation();
                NodeReply reply = open.isPresent() ? attrByIno(open.getAsLong()) : client.getAttr(path);
                if (reply.getErrno() != 0) {
                    return -reply.getErrno();
                }
                attr = reply.getAttr();
                if (open.isPresent()) {
                    openAttrs.remember(attr, generation);
                }
            }
            links.seen(path, attr, linksVersion);
            NodeStats.fill(stat, withBuffered(attr));
            if (attr.getNlink() == 0) {
                stat.setNLink((short) 0); // NodeStats shows at least 1 for directories and files alike
            }
            return 0;
        });
    }

    @Override
    public int access(String path, int mask) {
        // The kernel checks permissions itself (default_permissions); only existence is left.
        return guard("access", path, () -> -lookup(path).getErrno());
    }

    @Override
    public int readdir(String path, DirFiller filler, long offset, FileInfo fi, int flags) {
        return guard("readdir", path, () -> {
            long linksVersion = links.version();
            ReadDirReply reply = client.readDir(path);
            if (reply.getErrno() != 0) {
                return -reply.getErrno();
            }
            boolean plus = (flags & FuseOperations.FUSE_READDIR_PLUS) != 0;
            int fillFlags = plus ? DirFiller.FUSE_FILL_DIR_PLUS : 0;
            // With use_ino, an entry without an inode number reaches readdir(3) as d_ino 0, which
            // glibc skips as a deleted entry: "." and ".." would be missing.
            filler.fill(".", stat -> directory(stat, reply.getSelfIno()), 0, 0);
            filler.fill("..", stat -> directory(stat, reply.getParentIno()), 0, 0);
            String parent = path.endsWith("/") ? path : path + "/";
            for (DirEntry entry : reply.getEntriesList()) {
                NodeAttr attr = withBuffered(entry.getAttr());
                if (plus) {
                    links.seen(parent + entry.getName(), attr, linksVersion);
                }
                int full = filler.fill(entry.getName(), plus ? stat -> NodeStats.fill(stat, attr) : stat -> stat.setMode(NodeStats.typeBits(attr)), 0, fillFlags);
                if (full != 0) {
                    return -LinuxErrno.EIO; // without offsets the whole directory must fit in one buffer
                }
            }
            return 0;
        });
    }

    private static void directory(Stat stat, long ino) {
        stat.setMode(Stat.S_IFDIR);
        RawStat.setIno(stat, ino);
    }

    @Override
    public int readlink(String path, ByteBuffer buf, long len) {
        return guard("readlink", path, () -> {
            ReadLinkReply reply = client.readLink(path);
            if (reply.getErrno() != 0) {
                return -reply.getErrno();
            }
            putLinkTarget(reply.getTarget(), buf, len);
            return 0;
        });
    }

    /** A symlink's target into readlink's buffer: truncated like readlink(2), always NUL-terminated. */
    static void putLinkTarget(String link, ByteBuffer buf, long len) {
        byte[] target = link.getBytes(StandardCharsets.UTF_8);
        int n = (int) Math.min(target.length, len - 1);
        buf.put(0, target, 0, n);
        buf.put(n, (byte) 0);
    }

    @Override
    public int statfs(String path, Statvfs statvfs) {
        return guard("statfs", path, () -> {
            StatFsReply reply = client.statFs();
            statvfs.setBsize(reply.getBlockSize());
            statvfs.setFrsize(reply.getBlockSize());
            statvfs.setBlocks(reply.getTotalBlocks());
            statvfs.setBfree(reply.getFreeBlocks());
            statvfs.setBavail(reply.getFreeBlocks());
            statvfs.setNameMax(NAME_MAX);
            return 0;
        });
    }

    // ---- namespace changes ----

    @Override
    public int mkdir(String path, int mode) {
        return guard("mkdir", path, () -> -makeNode(path, NodeType.DIRECTORY, mode, false).getErrno());
    }

    /**
     * mkfifo, mknod and bind() of a Unix socket: a special file is metadata only (its type,
     * permissions, owner and, for a device, its number); the kernel serves its I/O itself. A
     * regular file made this way is an exclusive create.
     */
    @Override
    public int mknod(String path, short mode, int rdev) {
        int m = mode & 0xFFFF;
        int format = m & Stat.S_IFMT;
        NodeType type = format == 0 || format == Stat.S_IFREG ? NodeType.REGULAR
                : format == Stat.S_IFIFO ? NodeType.FIFO
                : format == Stat.S_IFCHR ? NodeType.CHARACTER_DEVICE
                : format == Stat.S_IFBLK ? NodeType.BLOCK_DEVICE
                : format == Stat.S_IFSOCK ? NodeType.SOCKET : null;
        if (type == null) {
            return -LinuxErrno.EINVAL;
        }
        long deviceNumber = type == NodeType.REGULAR ? 0 : Integer.toUnsignedLong(rdev);
        return guard("mknod", path, () -> -makeNode(path, type, m, true, deviceNumber).getErrno());
    }

    @Override
    public int link(String from, String to) {
        return guard("link", to, () -> {
            NodeReply reply = client.link(LinkRequest.newBuilder().setFrom(from).setTo(to).build());
            if (reply.getErrno() == 0) {
                invalidation.later(links.linked(from, to, reply.getAttr().getIno()));
            }
            return -reply.getErrno();
        });
    }

    @Override
    public int symlink(String target, String linkPath) {
        // jfuse hands over libfuse's (from, to) in that order: the link's content first, then its path.
        return guard("symlink", linkPath, () -> {
            FuseCallerContext.Caller caller = callers.current();
            NodeReply reply = client.makeNode(MakeNodeRequest.newBuilder().setPath(linkPath).setType(NodeType.SYMLINK)
                    .setMode(0777).setUid(caller.uid()).setGid(caller.gid()).setSymlinkTarget(target).build());
            if (reply.getErrno() == 0) {
                tablespaces.symlinkCreated(linkPath, target);
            }
            return -reply.getErrno();
        });
    }

    @Override
    public int create(String path, int mode, FileInfo fi) {
        return guard("create", path, () -> {
            Set<StandardOpenOption> flags = fi.getOpenFlags();
            NodeReply reply = makeNode(path, NodeType.REGULAR, mode, flags.contains(StandardOpenOption.CREATE_NEW));
            if (reply.getErrno() != 0) {
                return -reply.getErrno();
            }
            return openHandle(path, reply.getAttr(), flags, fi);
        });
    }

    @Override
    public int unlink(String path) {
        return guard("unlink", path, () -> {
            if (hiddenFiles.remove(path)) {
                links.unlinked(path); // nothing changed for the other names: the page server forgot this one at the unlink
                return 0; // the last close of an unlinked file: its name is already gone on the page server
            }
            MutationReply reply = client.remove(RemoveRequest.newBuilder().setPath(path).setDirectory(false).build());
            openAttrs.forgetAll(); // a link count went down, and with it a ctime
            if (reply.getErrno() == 0) {
                tablespaces.removed(path);
                invalidation.later(links.unlinked(path));
            }
            return -reply.getErrno();
        });
    }

    @Override
    public int rmdir(String path) {
        return guard("rmdir", path, () -> -client.remove(RemoveRequest.newBuilder().setPath(path).setDirectory(true).build()).getErrno());
    }

    @Override
    public int rename(String from, String to, int flags) {
        return guard("rename", from, () -> {
            if ((flags & RENAME_EXCHANGE) != 0) {
                return -LinuxErrno.EINVAL;
            }
            if (HiddenFiles.isHiddenName(to)) {
                return hide(from, to);
            }
            MutationReply reply = client.rename(RenameRequest.newBuilder().setFrom(from).setTo(to)
                    .setNoReplace((flags & RENAME_NOREPLACE) != 0).build());
            openAttrs.forgetAll(); // the renamed file's ctime, a replaced file's link count
            if (reply.getErrno() == 0) {
                tablespaces.removed(from);
                invalidation.later(links.renamed(from, to));
            }
            return -reply.getErrno();
        });
    }

    /** libfuse's stand-in for unlinking an open file; see {@link HiddenFiles}. */
    private int hide(String from, String hiddenPath) {
        NodeReply node = client.getAttr(from);
        if (node.getErrno() != 0) {
            return -node.getErrno();
        }
        MutationReply removed = client.remove(RemoveRequest.newBuilder().setPath(from).setDirectory(false).build());
        openAttrs.forgetAll();
        if (removed.getErrno() != 0) {
            return -removed.getErrno();
        }
        hiddenFiles.add(hiddenPath, node.getAttr().getIno());
        tablespaces.removed(from);
        invalidation.later(links.unlinked(from));
        return 0;
    }

    // ---- attribute changes ----

    @Override
    public int chmod(String path, int mode, FileInfo fi) {
        return guard("chmod", path, () -> setAttr(path, fi, SetAttrRequest.newBuilder().setMode(mode & 07777)));
    }

    @Override
    public int chown(String path, int uid, int gid, FileInfo fi) {
        return guard("chown", path, () -> {
            SetAttrRequest.Builder request = SetAttrRequest.newBuilder();
            if (uid != UNCHANGED_ID) {
                request.setUid(uid);
            }
            if (gid != UNCHANGED_ID) {
                request.setGid(gid);
            }
            return setAttr(path, fi, request);
        });
    }

    @Override
    public int truncate(String path, long size, FileInfo fi) {
        return guard("truncate", path, () -> {
            OptionalLong open = openIno(path, fi);
            long ino;
            if (open.isPresent()) {
                ino = open.getAsLong();
            } else {
                NodeReply node = lookup(path);
                if (node.getErrno() != 0) {
                    return -node.getErrno();
                }
                ino = node.getAttr().getIno();
            }
            buffer.truncate(ino, size); // before the page server's, so no flush can resurrect the tail
            int result = -client.setAttr(SetAttrRequest.newBuilder().setIno(ino).setSize(size).build()).getErrno();
            openAttrs.forget(ino);
            if (result == 0) {
                changedThrough(path, ino);
            }
            return result;
        });
    }

    @Override
    public int utimens(String path, TimeSpec atime, TimeSpec mtime, FileInfo fi) {
        return guard("utimens", path, () -> {
            long now = NodeStats.epochNanos(Instant.now());
            OpenFiles.OpenFile open = fi == null ? null : openFiles.get(fi.getFh());
            if (open != null && atime.isUtimeOmit() && !mtime.isUtimeOmit()) {
                // The kernel's mtime update after writes (writeback cache): it rides with the next flush.
                long mtimeNs = mtime.isUtimeNow() ? now : NodeStats.epochNanos(mtime.get());
                buffer.setMtime(open.ino(), open.relation(), mtimeNs);
                openAttrs.setMtime(open.ino(), mtimeNs);
                changedThrough(path, open.ino());
                return 0;
            }
            SetAttrRequest.Builder request = SetAttrRequest.newBuilder();
            if (!atime.isUtimeOmit()) {
                request.setAtimeNs(atime.isUtimeNow() ? now : NodeStats.epochNanos(atime.get()));
            }
            if (!mtime.isUtimeOmit()) {
                request.setMtimeNs(mtime.isUtimeNow() ? now : NodeStats.epochNanos(mtime.get()));
            }
            return setAttr(path, fi, request);
        });
    }

    /**
     * By inode when the file is open (ftruncate, fchmod, ... must reach an unlinked file too), else
     * by path. An empty path is {@link NullPathGuard}'s "libfuse lost the path".
     */
    private int setAttr(String path, FileInfo fi, SetAttrRequest.Builder request) {
        OptionalLong ino = openIno(path, fi);
        if (ino.isPresent()) {
            request.setIno(ino.getAsLong());
        } else {
            request.setPath(path);
        }
        NodeReply reply = client.setAttr(request.build());
        if (ino.isPresent()) {
            openAttrs.forget(ino.getAsLong());
        } else {
            openAttrs.forgetAll(); // the path may name an open file
        }
        if (reply.getErrno() == 0) {
            changedThrough(path, reply.getAttr().getIno());
        }
        return -reply.getErrno();
    }

    /**
     * A change of a file's attributes through {@code path} (ctime moves with every one): the kernel
     * refreshed that name's attributes with the reply, its other names must fetch them again.
     */
    private void changedThrough(String path, long ino) {
        invalidation.later(links.othersOf(ino, path));
    }

    // ---- file data ----

    @Override
    public int open(String path, FileInfo fi) {
        return guard("open", path, () -> {
            NodeReply reply = lookup(path);
            if (reply.getErrno() != 0) {
                return -reply.getErrno();
            }
            return openHandle(path, reply.getAttr(), fi.getOpenFlags(), fi);
        });
    }

    @Override
    public int read(String path, ByteBuffer buf, long size, long offset, FileInfo fi) {
        return guard("read", path, () -> {
            OpenFiles.OpenFile file = openFiles.get(fi.getFh());
            if (file == null) {
                return -LinuxErrno.EBADF;
            }
            int length = (int) Math.min(size, Integer.MAX_VALUE);
            byte[] stored;
            if (buffer.covers(file.ino(), offset, length)) {
                stored = new byte[0];
            } else {
                ReadFileReply reply = client.readFile(file.ino(), offset, length);
                if (reply.getErrno() != 0) {
                    return -reply.getErrno();
                }
                stored = reply.getData().toByteArray();
            }
            byte[] data = buffer.overlay(file.ino(), offset, length, stored);
            buf.put(0, data, 0, data.length);
            return data.length;
        });
    }

    @Override
    public int write(String path, ByteBuffer buf, long size, long offset, FileInfo fi) {
        return guard("write", path, () -> {
            OpenFiles.OpenFile file = openFiles.get(fi.getFh());
            if (file == null) {
                return -LinuxErrno.EBADF;
            }
            byte[] data = new byte[(int) size];
            buf.get(0, data);
            int result = writes.write(file, offset, data);
            if (result == 0) {
                changedThrough(path, file.ino()); // size, mtime, ctime
            }
            return result == 0 ? data.length : result;
        });
    }

    @Override
    public int flush(String path, FileInfo fi) {
        // close(2) promises nothing about durability; buffered pages leave at fsync or release. Told
        // ENOSYS once, the kernel stops sending FLUSH at every close of this mount (fc->no_flush) and
        // still writes its cached pages back first: PostgreSQL's regression suite made 48,000 of them.
        return -LinuxErrno.ENOSYS;
    }

    @Override
    public int fsync(String path, int datasync, FileInfo fi) {
        return guard("fsync", path, () -> {
            OptionalLong ino = openIno(path, fi);
            return ino.isPresent() ? writes.fsync(ino.getAsLong()) : syncBarrier.sync();
        });
    }

    @Override
    public int fsyncdir(String path, int datasync, FileInfo fi) {
        return guard("fsyncdir", path, syncBarrier::sync);
    }

    @Override
    public int release(String path, FileInfo fi) {
        return guard("release", path, () -> {
            OpenFiles.OpenFile file = openFiles.remove(fi.getFh());
            if (file != null && !openFiles.isOpen(file.ino())) {
                // Not durable (close does not promise that), but other readers of the bucket see it.
                buffer.flush(file.ino(), false);
                buffer.forgetIfClean(file.ino());
                openAttrs.forget(file.ino()); // the buffer's size and mtime overlay may be gone
            }
            if (file != null && hiddenFiles.hides(file.ino()) && !openFiles.isOpen(file.ino())) {
                // libfuse unlinks the hidden name at the last close, but not when it lost the path.
                hiddenFiles.forget(file.ino());
            }
            return 0;
        });
    }

    /**
     * Takes over an open file of the read-only mount this one replaces at a promotion: the same
     * handle number, now naming the file in the new timeline's namespace. @return 0 or -errno
     */
    int adopt(long fh, String path, Set<StandardOpenOption> flags) {
        return guard("adopt", path, () -> {
            NodeReply reply = lookup(path);
            if (reply.getErrno() != 0) {
                return -reply.getErrno();
            }
            openFiles.adopt(fh, openFile(reply.getAttr(), flags));
            return 0;
        });
    }

    /** Numbers new handles above every handle the replaced file system issued. */
    void numberHandlesAbove(long fh) {
        openFiles.numberAbove(fh);
    }

    // ---- helpers ----

    /** Attributes by path; a hidden name (an unlinked open file) is answered by inode. */
    private NodeReply lookup(String path) {
        OptionalLong hidden = hiddenFiles.ino(path);
        return hidden.isPresent() ? attrByIno(hidden.getAsLong()) : client.getAttr(path);
    }

    /**
     * The end of create and open: O_TRUNC (libfuse negotiates atomic O_TRUNC, so the truncation
     * arrives here rather than as a setattr), then a handle that knows the inode. @return 0 or -errno
     */
    private int openHandle(String path, NodeAttr attr, Set<StandardOpenOption> flags, FileInfo fi) {
        if (flags.contains(StandardOpenOption.TRUNCATE_EXISTING) && withBuffered(attr).getSize() > 0) {
            buffer.truncate(attr.getIno(), 0);
            int truncated = -client.setAttr(SetAttrRequest.newBuilder().setIno(attr.getIno()).setSize(0).build()).getErrno();
            openAttrs.forget(attr.getIno());
            if (truncated != 0) {
                return truncated;
            }
            changedThrough(path, attr.getIno());
        }
        OpenFiles.OpenFile file = openFile(attr, flags);
        if (file.syncWrites() || attr.getNlink() > 1) {
            // Each write(2) comes here at once and is answered when durable: one request, where
            // through the page cache an O_DSYNC write costs a write-back and an fsync request. The
            // kernel keeps other opens' cached pages coherent with these writes (ReadWriteMountTest).
            // A file with hard links goes the same way: libfuse gives each name its own kernel
            // inode and so its own page cache, which would not see writes through the other name.
            DirectIo.enable(fi);
        }
        fi.setFh(openFiles.add(file));
        return 0;
    }

    /** Attributes as this mount sees them: sizes include pages still in the write buffer. */
    private NodeAttr withBuffered(NodeAttr attr) {
        if (attr.getType() != NodeType.REGULAR) {
            return attr;
        }
        long size = buffer.size(attr.getIno(), attr.getSize());
        long mtime = buffer.mtime(attr.getIno(), attr.getMtimeNs());
        return size == attr.getSize() && mtime == attr.getMtimeNs() ? attr
                : attr.toBuilder().setSize(size).setMtimeNs(mtime).build();
    }

    private NodeReply attrByIno(long ino) {
        return client.getAttr(ino);
    }

    private NodeReply makeNode(String path, NodeType type, int mode, boolean exclusive) {
        return makeNode(path, type, mode, exclusive, 0);
    }

    /** @param rdev a device node's device number (0 for every other type) */
    private NodeReply makeNode(String path, NodeType type, int mode, boolean exclusive, long rdev) {
        FuseCallerContext.Caller caller = callers.current();
        MakeNodeRequest.Builder request = MakeNodeRequest.newBuilder().setPath(path).setType(type)
                .setMode(mode & 07777).setUid(caller.uid()).setGid(caller.gid()).setExclusive(exclusive).setRdev(rdev);
        if (type == NodeType.REGULAR) {
            warnIfDataDirectoryBelowRoot(path);
            Optional<RelationSegmentFile> relation = RelationPath.parse(path, tablespaces);
            relation.ifPresent(r -> request.setRel(RelTagMessages.toMessage(r.rel())).setRelSegno(r.segno()));
        }
        return client.makeNode(request.build());
    }

    /**
     * initdb writes PG_VERSION at the top of a data directory (and in each database directory). One
     * elsewhere means a data directory below the mount's root, whose relation files the mount cannot
     * tell from other files: they work, but as plain data, without LSN versions.
     */
    private static void warnIfDataDirectoryBelowRoot(String path) {
        if (path.endsWith("/PG_VERSION") && !path.equals("/PG_VERSION") && !RelationPath.isDatabaseDirectoryFile(path)) {
            log.warn("{}: a PostgreSQL data directory below the mount's root; its relation files are stored as plain "
                    + "files, not as LSN-versioned pages (GetPage@LSN, replicas). Put the data directory at the mount's root "
                    + "(initdb -D MOUNTPOINT).", path);
        }
    }

    private static OpenFiles.OpenFile openFile(NodeAttr attr, Set<StandardOpenOption> flags) {
        boolean syncWrites = flags.contains(StandardOpenOption.SYNC) || flags.contains(StandardOpenOption.DSYNC);
        return new OpenFiles.OpenFile(attr.getIno(), attr.hasRel(), syncWrites);
    }

    private OptionalLong openIno(String path, FileInfo fi) {
        if (fi != null) {
            OpenFiles.OpenFile file = openFiles.get(fi.getFh());
            if (file != null) {
                return OptionalLong.of(file.ino());
            }
        }
        return hiddenFiles.ino(path);
    }

    private int guard(String operation, String path, IntSupplier body) {
        try {
            return body.getAsInt();
        } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            if (code == Status.Code.UNAVAILABLE) {
                log.error("{} {}: page server {} UNAVAILABLE, returning EIO: {}", operation, path, client.target(), e.getStatus());
            } else {
                log.error("{} {}: page server {} failed with {}, returning EIO", operation, path, client.target(), e.getStatus());
            }
            return switch (code) {
                case INVALID_ARGUMENT -> -LinuxErrno.EINVAL;
                case RESOURCE_EXHAUSTED -> -LinuxErrno.ENOSPC; // the page server's journal device is full
                default -> -LinuxErrno.EIO;
            };
        } catch (Throwable t) {
            log.error("{} {}: unexpected failure, returning EIO", operation, path, t);
            return -LinuxErrno.EIO;
        }
    }
}
