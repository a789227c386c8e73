package org.dbfs.pageserver.store;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.dbfs.pageserver.format.DirentRecord;
import org.dbfs.pageserver.format.InodeRecord;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.TimelineStart;
import org.dbfs.pageserver.namespace.Namespace;
import org.dbfs.pageserver.namespace.NodeTypes;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.BranchEntry;
import org.dbfs.protocol.pageserver.v1.BranchRequest;
import org.dbfs.protocol.pageserver.v1.NodeType;

/**
 * A promotion's branch as one journal record: the new timeline's start and its whole namespace,
 * replacing the old one (see {@link Timelines}). One record, so that there is never a moment in
 * which the namespace lacks the relation files whose pages garbage collection would then take
 * for gone.
 */
public final class TimelineBranch {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TimelineBranch.class);
    /** The request cannot be applied; the message says why. */
    public static final class RefusedException extends RuntimeException {
        public final boolean badRequest;

        RefusedException(String message, boolean badRequest) {
            super(message);
            this.badRequest = badRequest;
        }
    }

    /** @return the journal seq from which versions are the new timeline's own */
    public static long apply(PageStore ps, BranchRequest req) throws IOException {
        List<BranchEntry> entries = new ArrayList<>(req.getEntriesList());
        entries.sort(Comparator.comparingInt((BranchEntry e) -> depth(e.getPath())).thenComparing(BranchEntry::getPath));
        PageStore.Outcome out = ps.mutate((ns, r) -> {
            Timelines t = ns.timelines();
            int current = t.current().timeline();
            if (req.getTimeline() < current) {
                throw new RefusedException("timeline " + req.getTimeline() + " is older than the current timeline " + current, false);
            }
            if (req.getTimeline() > current) {
                long cut = ps.walMarks.firstSeqPast(current, req.getBranchLsn());
                if (cut != 0) {
                    log.warn("branch at {}: timeline {} wrote WAL past it from journal seq {} on; its page versions from"
                            + " there on are not timeline {}'s", Lsn.format(req.getBranchLsn()), current, cut, req.getTimeline());
                }
                r.setTimelineStart(TimelineStart.newBuilder().setTimeline(req.getTimeline()).setParent(current)
                        .setBranchLsn(req.getBranchLsn()).setParentCutSeq(cut));
            } else if (current == 1) {
                throw new RefusedException("timeline 1 is never branched: a promotion starts timeline 2 or later", true);
            }
            replaceNamespace(ns, entries, r);
            return 0;
        });
        if (out.errno() != 0) {
            throw new RefusedException("branch refused: errno " + out.errno(), true);
        }
        long seq = out.commit().seq();
        return ps.timelines().current().timeline() == req.getTimeline() ? ps.timelines().currentStartSeq() : seq;
    }

    private static void replaceNamespace(Namespace ns, List<BranchEntry> entries, JournalRecord.Builder r) {
        long now = System.currentTimeMillis() * 1_000_000L;
        long nextIno = ns.nextIno();
        Set<Long> staged = new HashSet<>();
        for (BranchEntry e : entries) {
            if (e.getStagedIno() != 0) {
                InodeRecord s = ns.inode(e.getStagedIno());
                if (s == null || s.getType() != NodeTypes.REGULAR) {
                    throw new RefusedException(e.getPath() + ": staged inode " + e.getStagedIno() + " is not a regular file", true);
                }
                staged.add(e.getStagedIno());
            }
        }
        Map<String, Long> inoOf = new HashMap<>();
        Map<Long, Integer> subdirs = new HashMap<>();
        inoOf.put("/", Namespace.ROOT_INO);
        InodeRecord.Builder root = ns.inode(Namespace.ROOT_INO).toBuilder().setCtimeNs(now);
        List<InodeRecord.Builder> made = new ArrayList<>();
        for (BranchEntry e : entries) {
            if (e.getPath().equals("/")) {
                root.setMode(e.getMode() & 07777).setUid(e.getUid()).setGid(e.getGid()).setMtimeNs(e.getMtimeNs());
                continue;
            }
            int slash = e.getPath().lastIndexOf('/');
            String parentPath = slash == 0 ? "/" : e.getPath().substring(0, slash);
            String name = e.getPath().substring(slash + 1);
            Long parent = inoOf.get(parentPath);
            if (slash < 0 || name.isEmpty() || parent == null || inoOf.containsKey(e.getPath())) {
                throw new RefusedException(e.getPath() + ": its parent directory is not listed before it, or it is listed twice", true);
            }
            long ino = e.getStagedIno() != 0 ? e.getStagedIno() : nextIno++;
            InodeRecord.Builder inode = (e.getStagedIno() != 0 ? ns.inode(ino).toBuilder() : InodeRecord.newBuilder().setIno(ino))
                    .setType(e.getTypeValue()).setMode(e.getMode() & 07777).setUid(e.getUid()).setGid(e.getGid())
                    .setNlink(e.getType() == NodeType.DIRECTORY ? 2 : 1).setAtimeNs(now).setMtimeNs(e.getMtimeNs()).setCtimeNs(now);
            switch (e.getType()) {
                case DIRECTORY -> subdirs.merge(parent, 1, Integer::sum);
                case SYMLINK -> inode.setSymlinkTarget(e.getSymlinkTarget()).setSize(e.getSymlinkTarget().getBytes().length);
                case REGULAR -> {
                    if (e.hasRel()) {
                        inode.setRel(RelTagRecords.toRecord(RelTagMessages.of(e.getRel()))).setRelSegno(e.getRelSegno())
                                .setSize(e.getSize());
                    } else if (e.getStagedIno() == 0) {
                        inode.setSize(0); // an empty plain file needs no upload
                    }
                }
                default -> throw new RefusedException(e.getPath() + ": type " + e.getType() + " cannot be branched", true);
            }
            inoOf.put(e.getPath(), ino);
            made.add(inode);
            r.addPutDirents(DirentRecord.newBuilder().setParent(parent).setName(name).setIno(ino));
        }
        for (InodeRecord.Builder inode : made) {
            if (inode.getType() == NodeTypes.DIRECTORY) {
                inode.setNlink(2 + subdirs.getOrDefault(inode.getIno(), 0));
            }
            r.addPutInodes(inode);
        }
        r.addPutInodes(root.setNlink(2 + subdirs.getOrDefault(Namespace.ROOT_INO, 0)));
        r.setNextIno(nextIno);
        // Everything of the old namespace goes: the root's old entries (an entry replaced by a new
        // one of the same name is left alone by this delete, which names the old inode), and every
        // inode but the root and the staged ones; a dropped directory takes its entries with it.
        for (var child : ns.children(Namespace.ROOT_INO).entrySet()) {
            r.addDeleteDirents(DirentRecord.newBuilder().setParent(Namespace.ROOT_INO).setName(child.getKey())
                    .setIno(child.getValue()));
        }
        for (InodeRecord old : ns.inodes()) {
            if (old.getIno() != Namespace.ROOT_INO && !staged.contains(old.getIno())) {
                r.addDropInodes(old.getIno());
            }
        }
    }

    private static int depth(String path) {
        if (path.equals("/")) {
            return 0;
        }
        int d = 0;
        for (int i = 0; i < path.length(); i++) {
            if (path.charAt(i) == '/') {
                d++;
            }
        }
        return d;
    }

    private TimelineBranch() {}
}
