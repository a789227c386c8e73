package org.dbfs.fuse;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.cryptomator.jfuse.api.Errno;
import org.cryptomator.jfuse.api.FuseOperations;
import org.dbfs.pgformat.ControlFile;
import org.dbfs.pgformat.ForkNumber;
import org.dbfs.pgformat.RelationPath;
import org.dbfs.pgformat.RelationSegmentFile;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.BranchEntry;
import org.dbfs.protocol.pageserver.v1.BranchReply;
import org.dbfs.protocol.pageserver.v1.BranchRequest;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.NodeReply;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.SetAttrRequest;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a read-only mount into the read-write mount of a new timeline, from inside the rename with
 * which the standby PostgreSQL installs the new timeline's history file (see
 * {@link SwitchableFileSystem}). In order, with every other file operation held off:
 * <ol>
 * <li>read the branch LSN from the history file (PostgreSQL's end of recovery) and check it is at
 *     or past the LSN the promotion was armed with (the WAL service's last acknowledged record);</li>
 * <li>upload the overlay's plain files (pg_wal, pg_xact, pg_control, ...) into staging inodes, with
 *     the epoch the promotion was armed with;</li>
 * <li>{@code Branch}: one journal record starts the timeline and makes the overlay's tree its
 *     namespace, relation files by relation and size, plain files by staged inode;</li>
 * <li>write the visibility-map and free-space-map pages the standby changed itself as the new
 *     timeline's own;</li>
 * <li>hand the open files over to a {@link DbfsFileSystem} on that timeline, which the caller
 *     installs.</li>
 * </ol>
 * Any failure leaves the mount read-only and fails the rename, so PostgreSQL's promotion fails.
 */
final class ReplicaPromotion implements SwitchableFileSystem.Promotion {
    private static final Logger log = LoggerFactory.getLogger(ReplicaPromotion.class);
    private static final Pattern HISTORY = Pattern.compile("/pg_wal/([0-9A-F]{8})\\.history");
    private static final int CHUNK = 1 << 20;
    private static final int PAGE = 8192;
    static final String STAGING = "/.dbfs-promote-";

    /** What the mount was told when armed, and what it did. */
    record Armed(long epoch, long minLsn) {}

    record Done(int timeline, long branchLsn, long epoch, int plainFiles, long plainBytes, int relationFiles, long millis) {}

    private final String pageServer;
    private final ReplicaFileSystem replica;
    private final Errno errno;
    private final FuseCallerContext callers;
    private final AttrInvalidation invalidation;
    private final Path mountPoint;
    private final Armed armed;
    private final Runnable stopReplicaWork;
    private volatile Done done;
    private volatile WriterLease writerLease;
    private volatile PageServerClient client;

    ReplicaPromotion(String pageServer, ReplicaFileSystem replica, Errno errno, FuseCallerContext callers,
                     AttrInvalidation invalidation, Path mountPoint, Armed armed, Runnable stopReplicaWork) {
        this.pageServer = pageServer;
        this.replica = replica;
        this.errno = errno;
        this.callers = callers;
        this.invalidation = invalidation;
        this.mountPoint = mountPoint;
        this.armed = armed;
        this.stopReplicaWork = stopReplicaWork;
    }

    Done done() {
        return done;
    }

    /** The read-write side's lease and client, closed at unmount once promoted. */
    void close() {
        if (writerLease != null) {
            writerLease.close();
        }
        if (client != null) {
            try {
                client.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public boolean triggers(String to) {
        return HISTORY.matcher(to).matches();
    }

    /** The timeline whose history file {@code path} (mount-relative) names, if it is one in pg_wal. */
    static java.util.OptionalInt historyTimeline(String path) {
        Matcher m = HISTORY.matcher(path);
        return m.matches() ? java.util.OptionalInt.of(Integer.parseInt(m.group(1), 16)) : java.util.OptionalInt.empty();
    }

    @Override
    public FuseOperations promote(String from, String to) throws Exception {
        long start = System.nanoTime();
        Matcher m = HISTORY.matcher(to);
        if (!m.matches()) {
            throw new IllegalStateException(to);
        }
        int timeline = Integer.parseInt(m.group(1), 16);
        Path data = replica.dataDirectory();
        long branchLsn = switchPoint(Files.readString(data.resolve(from.substring(1)), StandardCharsets.UTF_8), timeline);
        if (Long.compareUnsigned(branchLsn, armed.minLsn()) < 0) {
            throw new IOException("PostgreSQL ends recovery at " + Lsn.format(branchLsn) + ", before "
                    + Lsn.format(armed.minLsn()) + ", the end of the last WAL record the WAL service acknowledged: "
                    + "promoting here would lose acknowledged commits. Refused");
        }
        log.warn("PROMOTING {}: timeline {} branches at {} (armed at epoch {}, acknowledged WAL ends at {})", mountPoint,
                timeline, Lsn.format(branchLsn), armed.epoch(), Lsn.format(armed.minLsn()));
        PageServerClient rw = new PageServerClient(pageServer);
        rw.useEpoch(armed.epoch());
        client = rw;
        int current = rw.serverInfo().getTimeline();
        if (timeline <= current) {
            throw new IOException("PostgreSQL chose timeline " + timeline + ", but the page server is on timeline " + current
                    + " already: that timeline exists elsewhere. Refused (give the standby the WAL service's archive as"
                    + " restore_command so that it sees every history file)");
        }

        String staging = STAGING + timeline;
        NodeReply dir = rw.makeNode(MakeNodeRequest.newBuilder().setPath(staging).setType(NodeType.DIRECTORY).setMode(0700).build());
        if (dir.getErrno() != 0 && dir.getErrno() != 17) { // EEXIST: an earlier attempt's
            throw new IOException("cannot create " + staging + ": errno " + dir.getErrno());
        }
        List<BranchEntry> entries = new ArrayList<>();
        List<Path> smallForks = new ArrayList<>();
        // WAL segments wholly before the last restartpoint's redo are needed by no recovery of the new
        // primary, and PostgreSQL would remove them at its next checkpoint: they are left behind.
        ControlFile control = ControlFile.parse(Files.readAllBytes(data.resolve("global/pg_control")));
        long redoSegment = Lsn.segmentNumber(control.checkPointRedo(), control.xlogSegSize());
        // Older timelines' files of the same segment stay: a walsender serving a standby the old
        // timeline reads the segment its timeline switched in from the next timeline's file.
        int[] skipped = new int[1];
        long[] plain = new long[2];
        int[] relations = new int[1];
        Files.walkFileTree(data, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
                entries.add(entry(data, d, NodeType.DIRECTORY).build());
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                String path = pathOf(data, f);
                if (attrs.isSymbolicLink()) {
                    entries.add(entry(data, f, NodeType.SYMLINK).setSymlinkTarget(Files.readSymbolicLink(f).toString()).build());
                    return FileVisitResult.CONTINUE;
                }
                if (!attrs.isRegularFile()) {
                    return FileVisitResult.CONTINUE;
                }
                if (isOldSegment(path, redoSegment, control.xlogSegSize())) {
                    skipped[0]++;
                    return FileVisitResult.CONTINUE;
                }
                var rel = RelationPath.parse(path);
                if (rel.isPresent()) {
                    RelationSegmentFile r = rel.get();
                    entries.add(entry(data, f, NodeType.REGULAR).setRel(RelTagMessages.toMessage(r.rel()))
                            .setRelSegno(r.segno()).setSize(attrs.size()).build());
                    if (r.forkNum() != ForkNumber.MAIN_FORKNUM) {
                        smallForks.add(f);
                    }
                    relations[0]++;
                } else if (attrs.size() == 0) {
                    entries.add(entry(data, f, NodeType.REGULAR).build());
                } else {
                    long ino = stage(rw, staging + "/" + entries.size(), f);
                    entries.add(entry(data, f, NodeType.REGULAR).setStagedIno(ino).build());
                    plain[0]++;
                    plain[1] += attrs.size();
                }
                return FileVisitResult.CONTINUE;
            }
        });
        BranchReply reply = rw.branch(BranchRequest.newBuilder().setTimeline(timeline).setBranchLsn(branchLsn)
                .addAllEntries(entries).build());
        for (Path f : smallForks) {
            keepStandbysPages(rw, data, f);
        }
        if (new SyncBarrier(rw).sync() != 0) {
            throw new IOException("the page server did not make the promotion's writes durable");
        }

        TablespaceDirectory tablespaces = new TablespaceDirectory(mountPoint.toString());
        DbfsFileSystem fs = new DbfsFileSystem(errno, rw, callers, tablespaces, invalidation);
        fs.numberHandlesAbove(replica.lastHandle());
        int adopted = 0;
        for (ReplicaFileSystem.OpenHandle h : replica.handOver()) {
            if (fs.adopt(h.fh(), h.path(), h.flags()) == 0) {
                adopted++;
            } else {
                log.warn("promotion: open file {} (handle {}) is not in the new timeline; it fails from now on", h.path(), h.fh());
            }
        }
        writerLease = WriterLease.adopt(rw);
        long millis = (System.nanoTime() - start) / 1_000_000;
        done = new Done(timeline, branchLsn, armed.epoch(), (int) plain[0], plain[1], relations[0], millis);
        stopReplicaWork.run();
        log.warn("PROMOTED {} in {} ms: timeline {} at {} from journal seq {}, epoch {}; {} plain files ({} bytes) uploaded, "
                        + "{} relation files, {} open files taken over, {} WAL segment files before the redo point {} left behind",
                mountPoint, millis, timeline, Lsn.format(branchLsn), reply.getStartSeq(), armed.epoch(), plain[0], plain[1],
                relations[0], adopted, skipped[0], Lsn.format(control.checkPointRedo()));
        return fs;
    }

    private static boolean isOldSegment(String path, long redoSegment, int segSize) {
        if (!path.startsWith("/pg_wal/") || !isSegmentName(path.substring("/pg_wal/".length()))) {
            return false;
        }
        return Lsn.segmentNumberOfFileName(path.substring("/pg_wal/".length()), segSize) < redoSegment;
    }

    private static boolean isSegmentName(String name) {
        return name.length() == 24 && name.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'));
    }

    /** The switch point of {@code timeline}'s parent: the last line of its history file. */
    static long switchPoint(String history, int timeline) throws IOException {
        String last = null;
        for (String line : history.split("\n")) {
            String t = line.strip();
            if (!t.isEmpty() && !t.startsWith("#")) {
                last = t;
            }
        }
        if (last == null) {
            throw new IOException("the history file of timeline " + timeline + " names no switch point");
        }
        String[] fields = last.split("\\s+");
        if (fields.length < 2) {
            throw new IOException("the history file of timeline " + timeline + " does not parse: " + last);
        }
        return Lsn.parse(fields[1]);
    }

    private static String pathOf(Path data, Path p) {
        String rel = data.relativize(p).toString();
        return rel.isEmpty() ? "/" : "/" + rel;
    }

    private static BranchEntry.Builder entry(Path data, Path p, NodeType type) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
        return BranchEntry.newBuilder().setPath(pathOf(data, p)).setType(type).setMode((Integer) a.get("mode") & 07777)
                .setUid((Integer) a.get("uid")).setGid((Integer) a.get("gid"))
                .setMtimeNs(((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).to(java.util.concurrent.TimeUnit.NANOSECONDS));
    }

    /**
     * Uploads a plain file's bytes into a staging inode; returns it. Chunks of zeros are left out
     * (holes read as zeros): a WAL segment PostgreSQL created without zero-filling it is mostly hole.
     */
    private static long stage(PageServerClient rw, String path, Path f) throws IOException {
        NodeReply made = rw.makeNode(MakeNodeRequest.newBuilder().setPath(path).setType(NodeType.REGULAR).setMode(0600).build());
        if (made.getErrno() != 0) {
            throw new IOException("cannot stage " + f + " as " + path + ": errno " + made.getErrno());
        }
        long ino = made.getAttr().getIno();
        if (made.getAttr().getSize() > 0) { // an earlier attempt's copy: its bytes must not show through the holes
            check(rw.setAttr(SetAttrRequest.newBuilder().setIno(ino).setSize(0).build()).getErrno(), f);
        }
        long offset = 0;
        byte[] buf = new byte[CHUNK];
        try (InputStream in = Files.newInputStream(f)) {
            for (int n; (n = in.readNBytes(buf, 0, CHUNK)) > 0; offset += n) {
                if (!isZero(buf, n)) {
                    check(rw.writeFile(WriteFileRequest.newBuilder().setIno(ino).setOffset(offset)
                            .setData(ByteString.copyFrom(buf, 0, n)).build()).getErrno(), f);
                }
            }
        }
        check(rw.setAttr(SetAttrRequest.newBuilder().setIno(ino).setSize(offset).build()).getErrno(), f); // trailing holes
        return ino;
    }

    /**
     * A visibility-map or free-space-map file: the pages the standby wrote itself (replay keeps its
     * own, exact VM) become the new timeline's; zero pages it never wrote stay the page server's.
     */
    private static void keepStandbysPages(PageServerClient rw, Path data, Path f) throws IOException {
        NodeReply node = rw.getAttr(pathOf(data, f));
        if (node.getErrno() != 0) {
            throw new IOException("the new timeline lacks " + pathOf(data, f) + ": errno " + node.getErrno());
        }
        byte[] all = Files.readAllBytes(f);
        for (int off = 0; off + PAGE <= all.length; off += PAGE) {
            boolean zero = true;
            for (int i = off; i < off + PAGE && zero; i++) {
                zero = all[i] == 0;
            }
            if (!zero) {
                check(rw.writeFile(WriteFileRequest.newBuilder().setIno(node.getAttr().getIno()).setOffset(off)
                        .setData(ByteString.copyFrom(all, off, PAGE)).build()).getErrno(), f);
            }
        }
    }

    private static boolean isZero(byte[] b, int n) {
        for (int i = 0; i < n; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static void check(int errno, Path f) throws IOException {
        if (errno != 0) {
            throw new IOException("uploading " + f + " failed: errno " + errno);
        }
    }
}
