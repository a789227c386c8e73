package org.dbfs.pageserver.store;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.dbfs.pageserver.format.BlockRangeDrop;
import org.dbfs.pageserver.format.DirentRecord;
import org.dbfs.pageserver.format.FileBlockRecord;
import org.dbfs.pageserver.format.InodeRecord;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pageserver.namespace.Errno;
import org.dbfs.pageserver.namespace.Namespace;
import org.dbfs.pageserver.namespace.NodeTypes;
import org.dbfs.pgformat.PageHeader;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.DirEntry;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.MutationReply;
import org.dbfs.protocol.pageserver.v1.NodeAttr;
import org.dbfs.protocol.pageserver.v1.NodeReply;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.ReadDirReply;
import org.dbfs.protocol.pageserver.v1.ReadFileReply;
import org.dbfs.protocol.pageserver.v1.ReadLinkReply;
import org.dbfs.protocol.pageserver.v1.SetAttrRequest;
import org.dbfs.protocol.pageserver.v1.WriteExtent;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;

/**
 * POSIX file system semantics over the page store: path resolution, creation, removal, atomic
 * rename, attributes, and file data in 8 KB blocks (plain files) or relation pages (files created
 * with a RelTag). Each mutation is one journal record, so it is atomic and replays exactly.
 * Thread-safe (through {@link PageStore#mutate} and the namespace read lock).
 */
public final class FileSystemOps {
    public static final int BLOCK_SIZE = 8192;
    /** Blocks per relation segment file (PostgreSQL's RELSEG_SIZE). */
    public static final long RELSEG_SIZE = 131072;

    private final PageStore ps;

    public FileSystemOps(PageStore ps) {
        this.ps = ps;
    }

    public NodeReply getAttr(String path) {
        return getAttr(path, 0);
    }

    /** By inode number when {@code ino} is not 0, else by path. */
    public NodeReply getAttr(String path, long ino) {
        ps.namespaceLock().readLock().lock();
        try {
            Namespace ns = ps.namespace();
            long found = ino != 0 ? ino : ns.resolve(path);
            if (found < 0) {
                return NodeReply.newBuilder().setErrno((int) -found).build();
            }
            InodeRecord inode = ns.inode(found);
            if (inode == null) {
                return NodeReply.newBuilder().setErrno(Errno.ENOENT).build();
            }
            return NodeReply.newBuilder().setAttr(attr(inode)).build();
        } finally {
            ps.namespaceLock().readLock().unlock();
        }
    }

    public ReadDirReply readDir(String path) {
        ps.namespaceLock().readLock().lock();
        try {
            Namespace ns = ps.namespace();
            long ino = ns.resolve(path);
            if (ino < 0) {
                return ReadDirReply.newBuilder().setErrno((int) -ino).build();
            }
            Map<String, Long> children = ns.children(ino);
            if (children == null) {
                return ReadDirReply.newBuilder().setErrno(Errno.ENOTDIR).build();
            }
            int slash = path.lastIndexOf('/');
            long parent = slash <= 0 ? ns.resolve("/") : ns.resolve(path.substring(0, slash));
            ReadDirReply.Builder reply = ReadDirReply.newBuilder().setSelfIno(ino).setParentIno(parent < 0 ? ino : parent);
            for (Map.Entry<String, Long> e : children.entrySet()) {
                reply.addEntries(DirEntry.newBuilder().setName(e.getKey()).setAttr(attr(ns.inode(e.getValue()))));
            }
            return reply.build();
        } finally {
            ps.namespaceLock().readLock().unlock();
        }
    }

    public ReadLinkReply readLink(String path) {
        ps.namespaceLock().readLock().lock();
        try {
            long ino = ps.namespace().resolve(path);
            if (ino < 0) {
                return ReadLinkReply.newBuilder().setErrno((int) -ino).build();
            }
            InodeRecord inode = ps.namespace().inode(ino);
            if (inode.getType() != NodeTypes.SYMLINK) {
                return ReadLinkReply.newBuilder().setErrno(Errno.EINVAL).build();
            }
            return ReadLinkReply.newBuilder().setTarget(inode.getSymlinkTarget()).build();
        } finally {
            ps.namespaceLock().readLock().unlock();
        }
    }

    /**
     * A mutation's reply and the journal position that makes it durable (0 if nothing was
     * written). Replies say {@code durable = false}; the caller waits on {@link PageStore#whenDurable}.
     */
    public record Applied<T>(T reply, long token) {}

    public Applied<NodeReply> makeNode(MakeNodeRequest req) throws IOException {
        InodeRecord[] made = new InodeRecord[1];
        PageStore.Outcome out = ps.mutate((ns, r) -> {
            ParentAndName pn = parentAndName(ns, req.getPath());
            if (pn.errno != 0) {
                return pn.errno;
            }
            Long existing = ns.children(pn.parent).get(pn.name);
            if (existing != null) {
                InodeRecord e = ns.inode(existing);
                if (req.getType() == NodeType.REGULAR && !req.getExclusive() && e.getType() == NodeTypes.REGULAR) {
                    made[0] = e;
                    return 0; // open(O_CREAT) of an existing file: nothing to commit
                }
                return Errno.EEXIST;
            }
            if (req.getType() == NodeType.NODE_TYPE_UNSPECIFIED || req.getType() == NodeType.UNRECOGNIZED) {
                return Errno.EINVAL;
            }
            long now = now();
            long ino = ns.nextIno();
            boolean dir = req.getType() == NodeType.DIRECTORY;
            InodeRecord.Builder inode = InodeRecord.newBuilder().setIno(ino).setType(req.getTypeValue())
                    .setMode(req.getMode() & 07777).setUid(req.getUid()).setGid(req.getGid())
                    .setNlink(dir ? 2 : 1).setAtimeNs(now).setMtimeNs(now).setCtimeNs(now);
            if (req.getType() == NodeType.CHARACTER_DEVICE || req.getType() == NodeType.BLOCK_DEVICE) {
                inode.setRdev(req.getRdev());
            }
            if (req.getType() == NodeType.SYMLINK) {
                inode.setSymlinkTarget(req.getSymlinkTarget()).setSize(req.getSymlinkTarget().getBytes().length)
                        .setMode(0777);
            }
            if (req.hasRel() && req.getType() == NodeType.REGULAR) {
                var rel = RelTagRecords.toRecord(RelTagMessages.of(req.getRel()));
                inode.setRel(rel).setRelSegno(req.getRelSegno());
                // A relation file created anew starts empty, whatever an earlier file of the same
                // relfilenode left behind.
                long first = req.getRelSegno() * RELSEG_SIZE;
                r.addRelDrops(BlockRangeDrop.newBuilder().setRel(rel)
                        .setFromBlock(first).setToBlock(first + RELSEG_SIZE));
            }
            made[0] = inode.build();
            r.addPutInodes(made[0]).setNextIno(ino + 1)
                    .addPutDirents(DirentRecord.newBuilder().setParent(pn.parent).setName(pn.name).setIno(ino));
            r.addPutInodes(touchDir(ns.inode(pn.parent), dir ? 1 : 0, now));
            return 0;
        });
        return nodeReply(out, made[0]);
    }

    /** The most links a file may have, as on ext4. */
    static final int LINK_MAX = 65000;

    /**
     * link(2): {@code to} becomes another name of the file at {@code from} (not following a
     * symlink there, as Linux does); its nlink and ctime move. Directories cannot be linked (EPERM).
     */
    public Applied<NodeReply> link(String from, String to) throws IOException {
        InodeRecord[] linked = new InodeRecord[1];
        PageStore.Outcome out = ps.mutate((ns, r) -> {
            long ino = ns.resolve(from);
            if (ino < 0) {
                return (int) -ino;
            }
            ParentAndName dst = parentAndName(ns, to);
            if (dst.errno != 0) {
                return dst.name == null ? Errno.EEXIST : dst.errno;
            }
            InodeRecord inode = ns.inode(ino);
            if (inode.getType() == NodeTypes.DIRECTORY) {
                return Errno.EPERM;
            }
            if (ns.children(dst.parent).containsKey(dst.name)) {
                return Errno.EEXIST;
            }
            if (inode.getNlink() >= LINK_MAX) {
                return Errno.EMLINK;
            }
            long now = now();
            linked[0] = inode.toBuilder().setNlink(inode.getNlink() + 1).setCtimeNs(now).build();
            r.addPutInodes(linked[0])
                    .addPutDirents(DirentRecord.newBuilder().setParent(dst.parent).setName(dst.name).setIno(ino))
                    .addPutInodes(touchDir(ns.inode(dst.parent), 0, now));
            return 0;
        });
        return nodeReply(out, linked[0]);
    }

    public Applied<MutationReply> remove(String path, boolean directory) throws IOException {
        return mutationReply(ps.mutate((ns, r) -> {
            ParentAndName pn = parentAndName(ns, path);
            if (pn.errno != 0) {
                return pn.name == null ? Errno.EBUSY : pn.errno;
            }
            Long ino = ns.children(pn.parent).get(pn.name);
            if (ino == null) {
                return Errno.ENOENT;
            }
            InodeRecord inode = ns.inode(ino);
            boolean isDir = inode.getType() == NodeTypes.DIRECTORY;
            if (directory && !isDir) {
                return Errno.ENOTDIR;
            }
            if (!directory && isDir) {
                return Errno.EISDIR;
            }
            if (isDir && !ns.children(ino).isEmpty()) {
                return Errno.ENOTEMPTY;
            }
            long now = now();
            r.addDeleteDirents(DirentRecord.newBuilder().setParent(pn.parent).setName(pn.name).setIno(ino));
            r.addPutInodes(touchDir(ns.inode(pn.parent), isDir ? -1 : 0, now));
            unlinkInode(inode, r, now);
            return 0;
        }));
    }

    public Applied<MutationReply> rename(String from, String to, boolean noReplace) throws IOException {
        return mutationReply(ps.mutate((ns, r) -> {
            ParentAndName src = parentAndName(ns, from);
            ParentAndName dst = parentAndName(ns, to);
            if (src.errno != 0 || dst.errno != 0) {
                return src.name == null || dst.name == null ? Errno.EBUSY : src.errno != 0 ? src.errno : dst.errno;
            }
            Long ino = ns.children(src.parent).get(src.name);
            if (ino == null) {
                return Errno.ENOENT;
            }
            if (src.parent == dst.parent && src.name.equals(dst.name)) {
                return 0;
            }
            if (Long.valueOf(ino).equals(ns.children(dst.parent).get(dst.name))) {
                return 0; // two names of one file: rename(2) does nothing
            }
            InodeRecord inode = ns.inode(ino);
            boolean isDir = inode.getType() == NodeTypes.DIRECTORY;
            if (isDir && isAncestor(ns, ino, dst.parent)) {
                return Errno.EINVAL; // a directory cannot move into itself
            }
            long now = now();
            Long replaced = ns.children(dst.parent).get(dst.name);
            if (replaced != null) {
                if (noReplace) {
                    return Errno.EEXIST;
                }
                InodeRecord target = ns.inode(replaced);
                boolean targetDir = target.getType() == NodeTypes.DIRECTORY;
                if (isDir && !targetDir) {
                    return Errno.ENOTDIR;
                }
                if (!isDir && targetDir) {
                    return Errno.EISDIR;
                }
                if (targetDir && !ns.children(replaced).isEmpty()) {
                    return Errno.ENOTEMPTY;
                }
                unlinkInode(target, r, now);
            }
            r.addPutDirents(DirentRecord.newBuilder().setParent(dst.parent).setName(dst.name).setIno(ino));
            r.addDeleteDirents(DirentRecord.newBuilder().setParent(src.parent).setName(src.name).setIno(ino));
            r.addPutInodes(inode.toBuilder().setCtimeNs(now));
            int moved = isDir ? 1 : 0;
            int lost = replaced != null && ns.inode(replaced).getType() == NodeTypes.DIRECTORY ? 1 : 0;
            if (src.parent == dst.parent) {
                r.addPutInodes(touchDir(ns.inode(src.parent), -lost, now));
            } else {
                r.addPutInodes(touchDir(ns.inode(src.parent), -moved, now));
                r.addPutInodes(touchDir(ns.inode(dst.parent), moved - lost, now));
            }
            return 0;
        }));
    }

    public Applied<NodeReply> setAttr(SetAttrRequest req) throws IOException {
        InodeRecord[] result = new InodeRecord[1];
        PageStore.Outcome out = ps.mutate((ns, r) -> {
            long ino = req.getIno() != 0 ? req.getIno() : ns.resolve(req.getPath());
            if (ino < 0) {
                return (int) -ino;
            }
            InodeRecord inode = ns.inode(ino);
            if (inode == null) {
                return Errno.ENOENT;
            }
            long now = now();
            InodeRecord.Builder b = inode.toBuilder().setCtimeNs(now);
            if (req.hasMode()) {
                b.setMode(req.getMode() & 07777);
            }
            if (req.hasUid()) {
                b.setUid(req.getUid());
            }
            if (req.hasGid()) {
                b.setGid(req.getGid());
            }
            if (req.hasAtimeNs()) {
                b.setAtimeNs(req.getAtimeNs());
            }
            if (req.hasMtimeNs()) {
                b.setMtimeNs(req.getMtimeNs());
            }
            if (req.hasSize()) {
                if (inode.getType() == NodeTypes.DIRECTORY) {
                    return Errno.EISDIR;
                }
                if (inode.getType() != NodeTypes.REGULAR) {
                    return Errno.EINVAL;
                }
                resize(inode, req.getSize(), r);
                b.setSize(req.getSize());
                if (!req.hasMtimeNs()) {
                    b.setMtimeNs(now);
                }
            }
            result[0] = b.build();
            r.addPutInodes(result[0]);
            return 0;
        });
        return nodeReply(out, result[0]);
    }

    public ReadFileReply readFile(long ino, long offset, int length) {
        InodeRecord inode;
        ps.namespaceLock().readLock().lock();
        try {
            inode = ps.namespace().inode(ino);
        } finally {
            ps.namespaceLock().readLock().unlock();
        }
        if (inode == null) {
            return ReadFileReply.newBuilder().setErrno(Errno.ENOENT).build();
        }
        if (inode.getType() == NodeTypes.DIRECTORY) {
            return ReadFileReply.newBuilder().setErrno(Errno.EISDIR).build();
        }
        long end = Math.min(inode.getSize(), offset + Math.max(0, length));
        if (end <= offset) {
            return ReadFileReply.getDefaultInstance();
        }
        byte[] out = new byte[(int) (end - offset)];
        for (long pos = offset; pos < end; ) {
            long block = pos / BLOCK_SIZE;
            int within = (int) (pos % BLOCK_SIZE);
            int n = (int) Math.min(BLOCK_SIZE - within, end - pos);
            byte[] data = readBlock(inode, block);
            if (data != null) {
                System.arraycopy(data, within, out, (int) (pos - offset), Math.min(n, Math.max(0, data.length - within)));
            }
            pos += n;
        }
        return ReadFileReply.newBuilder().setData(ByteString.copyFrom(out)).build();
    }

    public Applied<MutationReply> writeFile(WriteFileRequest req) throws IOException {
        List<WriteExtent> extents = new ArrayList<>(1 + req.getExtentsCount());
        if (!req.getData().isEmpty()) {
            extents.add(WriteExtent.newBuilder().setOffset(req.getOffset()).setData(req.getData())
                    .addAllPageLsns(req.getPageLsnsList()).build());
        }
        extents.addAll(req.getExtentsList());
        return mutationReply(ps.mutate((ns, r) -> {
            InodeRecord inode = ns.inode(req.getIno());
            if (inode == null) {
                return Errno.ENOENT;
            }
            if (inode.getType() != NodeTypes.REGULAR) {
                return Errno.EISDIR;
            }
            if (extents.isEmpty()) {
                return 0;
            }
            long end = inode.getSize();
            for (WriteExtent extent : extents) {
                end = Math.max(end, addExtent(inode, extent, r));
            }
            long now = now();
            r.addPutInodes(inode.toBuilder().setSize(end)
                    .setMtimeNs(req.hasMtimeNs() ? req.getMtimeNs() : now).setCtimeNs(now));
            return 0;
        }));
    }

    /** True if every range of the write covers whole blocks, so nothing must be read first. */
    public static boolean isWholeBlocks(WriteFileRequest req) {
        boolean whole = req.getOffset() % BLOCK_SIZE == 0 && req.getData().size() % BLOCK_SIZE == 0;
        for (WriteExtent e : req.getExtentsList()) {
            whole &= e.getOffset() % BLOCK_SIZE == 0 && e.getData().size() % BLOCK_SIZE == 0;
        }
        return whole;
    }

    /**
     * Adds one range's block versions to the record; returns the range's end offset. A whole block
     * goes in as a view of the request's bytes (no copy: a flush carries up to 4 MiB of them).
     */
    private long addExtent(InodeRecord inode, WriteExtent extent, JournalRecord.Builder r) {
        ByteString data = extent.getData();
        long offset = extent.getOffset();
        boolean rel = inode.hasRel();
        boolean lsnsGiven = extent.getPageLsnsCount() * (long) BLOCK_SIZE == data.size() && offset % BLOCK_SIZE == 0;
        for (long pos = offset; pos < offset + data.size(); ) {
            long block = pos / BLOCK_SIZE;
            int within = (int) (pos % BLOCK_SIZE);
            int n = (int) Math.min(BLOCK_SIZE - within, offset + data.size() - pos);
            int from = (int) (pos - offset);
            ByteString page;
            if (within == 0 && n == BLOCK_SIZE) {
                page = data.substring(from, from + BLOCK_SIZE);
            } else {
                byte[] current = readBlock(inode, block);
                byte[] merged = current == null ? new byte[BLOCK_SIZE] : current.clone();
                data.copyTo(merged, from, within, n);
                page = ByteString.copyFrom(merged);
            }
            if (rel) {
                long lsn = lsnsGiven ? extent.getPageLsns(from / BLOCK_SIZE) : pageLsn(page);
                r.addPages(PageVersionRecord.newBuilder().setRel(inode.getRel())
                        .setBlockNum((int) (inode.getRelSegno() * RELSEG_SIZE + block)).setLsn(lsn).setData(page));
            } else {
                r.addFileBlocks(FileBlockRecord.newBuilder().setIno(inode.getIno()).setBlock(block).setData(page));
            }
            pos += n;
        }
        return offset + data.size();
    }

    /** PageGetLSN() of a page held as a ByteString. */
    private static long pageLsn(ByteString page) {
        byte[] header = new byte[8];
        page.copyTo(header, 0, 0, header.length);
        return PageHeader.PageGetLSN(header, 0);
    }

    private byte[] readBlock(InodeRecord inode, long block) {
        if (inode.hasRel()) {
            PageStore.StoredBlock page = ps.readPage(RelTagRecords.of(inode.getRel()),
                    inode.getRelSegno() * RELSEG_SIZE + block, 0);
            return page == null ? null : page.data();
        }
        return ps.readFileBlock(inode.getIno(), block);
    }

    /** Drops blocks past the new end and zeroes the tail of a partial last block. */
    private void resize(InodeRecord inode, long size, JournalRecord.Builder r) {
        if (size >= inode.getSize()) {
            return; // a shrink already dropped and zeroed everything past the old end
        }
        long keepBlocks = (size + BLOCK_SIZE - 1) / BLOCK_SIZE;
        long base = inode.hasRel() ? inode.getRelSegno() * RELSEG_SIZE : 0;
        BlockRangeDrop.Builder drop = BlockRangeDrop.newBuilder().setFromBlock(base + keepBlocks)
                .setToBlock(inode.hasRel() ? base + RELSEG_SIZE : 0);
        if (inode.hasRel()) {
            r.addRelDrops(drop.setRel(inode.getRel()));
        } else {
            r.addFileDrops(drop.setIno(inode.getIno()));
        }
        int tail = (int) (size % BLOCK_SIZE);
        if (tail != 0) {
            long block = size / BLOCK_SIZE;
            byte[] current = readBlock(inode, block);
            if (current != null) {
                byte[] page = current.clone();
                java.util.Arrays.fill(page, tail, BLOCK_SIZE, (byte) 0);
                if (inode.hasRel()) {
                    r.addPages(PageVersionRecord.newBuilder().setRel(inode.getRel()).setBlockNum((int) (base + block))
                            .setLsn(PageHeader.PageGetLSN(page, 0)).setData(ByteString.copyFrom(page)));
                } else {
                    r.addFileBlocks(FileBlockRecord.newBuilder().setIno(inode.getIno()).setBlock(block)
                            .setData(ByteString.copyFrom(page)));
                }
            }
        }
    }

    /** One link fewer: a directory or a file's last link goes; an open file stays readable. */
    private static void unlinkInode(InodeRecord inode, JournalRecord.Builder r, long now) {
        if (inode.getType() == NodeTypes.DIRECTORY) {
            r.addDropInodes(inode.getIno());
        } else {
            r.addPutInodes(inode.toBuilder().setNlink(Math.max(0, inode.getNlink() - 1)).setCtimeNs(now));
        }
    }

    private static InodeRecord touchDir(InodeRecord dir, int nlinkDelta, long now) {
        return dir.toBuilder().setNlink(dir.getNlink() + nlinkDelta).setMtimeNs(now).setCtimeNs(now).build();
    }

    /** Whether {@code dir} is {@code ancestor} or below it (inodes keep no parent pointer). */
    private static boolean isAncestor(Namespace ns, long ancestor, long dir) {
        return ancestor == dir || containsDir(ns, ancestor, dir, 0);
    }

    private static boolean containsDir(Namespace ns, long from, long wanted, int depth) {
        Map<String, Long> children = ns.children(from);
        if (children == null || depth > 4096) {
            return false;
        }
        for (long child : children.values()) {
            if (child == wanted || containsDir(ns, child, wanted, depth + 1)) {
                return true;
            }
        }
        return false;
    }

    private record ParentAndName(int errno, long parent, String name) {}

    private static ParentAndName parentAndName(Namespace ns, String path) {
        String p = path.endsWith("/") && path.length() > 1 ? path.substring(0, path.length() - 1) : path;
        int slash = p.lastIndexOf('/');
        String name = p.substring(slash + 1);
        if (name.isEmpty() || name.equals(".") || name.equals("..")) {
            return new ParentAndName(Errno.EINVAL, 0, null);
        }
        if (Namespace.tooLong(name)) {
            return new ParentAndName(Errno.ENAMETOOLONG, 0, name);
        }
        long parent = ns.resolve(slash <= 0 ? "/" : p.substring(0, slash));
        if (parent < 0) {
            return new ParentAndName((int) -parent, 0, name);
        }
        if (ns.children(parent) == null) {
            return new ParentAndName(Errno.ENOTDIR, 0, name);
        }
        return new ParentAndName(0, parent, name);
    }

    private static long now() {
        java.time.Instant t = java.time.Instant.now();
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    static NodeAttr attr(InodeRecord i) {
        NodeAttr.Builder b = NodeAttr.newBuilder().setIno(i.getIno()).setTypeValue(i.getType()).setMode(i.getMode())
                .setUid(i.getUid()).setGid(i.getGid()).setSize(i.getSize()).setAtimeNs(i.getAtimeNs())
                .setMtimeNs(i.getMtimeNs()).setCtimeNs(i.getCtimeNs()).setNlink(i.getNlink()).setRdev(i.getRdev());
        if (i.hasRel()) {
            b.setRel(RelTagMessages.toMessage(RelTagRecords.of(i.getRel()))).setRelSegno(i.getRelSegno());
        }
        return b.build();
    }

    private Applied<NodeReply> nodeReply(PageStore.Outcome out, InodeRecord inode) {
        NodeReply.Builder b = NodeReply.newBuilder().setErrno(out.errno()).setIncarnation(ps.incarnation());
        if (out.errno() == 0) {
            b.setAttr(attr(inode));
        }
        return new Applied<>(b.build(), out.errno() == 0 ? out.commit().token() : 0);
    }

    private Applied<MutationReply> mutationReply(PageStore.Outcome out) {
        return new Applied<>(MutationReply.newBuilder().setErrno(out.errno()).setIncarnation(ps.incarnation()).build(),
                out.errno() == 0 ? out.commit().token() : 0);
    }
}
