package org.dbfs.pageserver.store;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.cli.Progress;
import org.dbfs.bucket.lease.ReaderLease;
import org.dbfs.bucket.lease.ReaderLeases;
import org.dbfs.pageserver.format.InodeRecord;
import org.dbfs.pageserver.format.Manifest;
import org.dbfs.pageserver.format.SegmentEntry;
import org.dbfs.pageserver.format.SegmentRef;
import org.dbfs.pageserver.segment.SegmentWriter;
import org.dbfs.pgformat.RelTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Garbage collection, an explicit policy in four steps. It runs on the packer's thread between
 * packs ({@link Packer#collectGarbage}), so it and the packer never move the manifest at once.
 *
 * <ol>
 *   <li><b>Horizon</b> ({@link Horizon}): the older of the retention window and the oldest LSN a
 *       live reader lease holds. It only rises, and reads below it are refused from now on.
 *   <li><b>Drop versions</b>: of each block, keep every unpacked version, the latest one, every
 *       version newer than the horizon and the one a read at the horizon returns (relation pages by
 *       LSN, file blocks by journal seq); a block whose latest version is a tombstone older than
 *       the horizon goes whole. A block whose file is gone from the namespace (a dropped relation's
 *       segment file, an unlinked file) goes whole once it has been gone since before the horizon.
 *       Whatever the horizon or the namespace, the version each live branch reads ({@link BranchPin})
 *       stays: pins keep one version per block at their point, not the history after it, so they
 *       do not hold the horizon back.
 *   <li><b>Rewrite</b>: a segment whose live bytes fall below {@code rewriteBelowLive} of its size
 *       is rewritten, with others, into one new segment holding only their live versions; the
 *       manifest swaps them by compare-and-swap, then the index points at the copies.
 *   <li><b>Delete</b>: an object under {@code segments/} or {@code namespace/} that the manifest
 *       does not name (rewritten, or orphaned by a crash or a stale writer) is deleted
 *       {@code grace} after it was first seen unnamed, so a reader in flight finishes first. Data-directory
 *       snapshots ({@link SnapshotStore}) older than the newest one at or below the horizon go too:
 *       no read the horizon still allows starts from them.
 * </ol>
 *
 * A version dropped from the index but still in a segment that was not rewritten comes back at the
 * next start (the index is rebuilt from the footers) and is dropped again; nothing depends on it
 * being gone. Not thread-safe: the packer's
 * lock serializes it.
 */
public final class GarbageCollector {
    private static final Logger log = LoggerFactory.getLogger(GarbageCollector.class);
    private static final long RELSEG_BLOCKS = 131072; // PostgreSQL's RELSEG_SIZE: blocks per 1 GB segment file
    private static final int BATCH_BLOCKS = 1024; // blocks decided per hold of the commit lock

    private final PageStore ps;
    private final ReaderLeases readers;
    private final Map<Object, Long> goneSince = new HashMap<>(); // block's file -> seq when first seen gone
    private final Map<String, Instant> unnamedSince = new HashMap<>();
    private Instant lastRun;
    private final Stats total = new Stats();

    // Written by the packer's thread, read by the metrics' (volatile: a scrape sees the last run's totals).
    private static final class Stats {
        volatile long versionsDropped;
        volatile long blocksDropped;
        volatile long segmentsRewritten;
        volatile long bytesRewritten;
        volatile long objectsDeleted;
    }

    GarbageCollector(PageStore ps, ReaderLeases readers) {
        this.ps = ps;
        this.readers = readers;
        this.lastRun = ps.clock.instant();
    }

    Totals totals() {
        return new Totals(total.versionsDropped, total.blocksDropped, total.segmentsRewritten, total.bytesRewritten,
                total.objectsDeleted);
    }

    /** What collection has done since the page server started. */
    public record Totals(long versionsDropped, long blocksDropped, long segmentsRewritten, long bytesRewritten,
                         long objectsDeleted) {}

    /** Runs if {@code interval} has passed since the last run. */
    void runIfDue() throws IOException {
        Instant now = ps.clock.instant();
        if (Duration.between(lastRun, now).compareTo(ps.options.gc().interval()) >= 0) {
            run(now);
        }
    }

    void run(Instant now) throws IOException {
        lastRun = now;
        GcOptions policy = ps.options.gc();
        long durableBound;
        try {
            durableBound = ps.collectionBound.getAsLong();
        } catch (RuntimeException e) {
            log.warn("gc: skipped: cannot ask the WAL service where its durable WAL ends ({}); page versions past it may be"
                    + " a failover's to drop, so nothing is collected without it", e.toString());
            return;
        }
        ps.walMarks.trimAtOrBelow(durableBound); // no promotion branches before WAL the WAL service made durable
        Horizon h;
        List<BranchPin> pins;
        synchronized (ps.readers.horizonLock) { // a reader or branch registering meanwhile is either listed here or checked against h
            List<ReaderLease> live = readers.live();
            Horizon computed = Horizon.compute(ps.manifest.getPackMarksList(), now, policy.retention(), live,
                    ps.manifest.getPackedSeq(), maxPackedLsn(), durableBound);
            h = ps.horizon.atLeast(computed);
            ps.horizon = h; // before anything is dropped: a read below it could get a wrong version
            pins = ps.branches().pins();
        }
        Stats pass = new Stats();
        if (h.seq() > 0 || h.lsn() != 0) {
            dropVersions(h, pins, pass);
            rewrite(h, pass, now);
            Set<String> pinnedSnapshots = new HashSet<>();
            pins.forEach(p -> pinnedSnapshots.add(p.snapshot()));
            pass.objectsDeleted += ps.snapshots().collect(h.lsn(), pinnedSnapshots);
        }
        deleteUnnamed(now, pass);
        total.versionsDropped += pass.versionsDropped;
        total.blocksDropped += pass.blocksDropped;
        total.segmentsRewritten += pass.segmentsRewritten;
        total.bytesRewritten += pass.bytesRewritten;
        total.objectsDeleted += pass.objectsDeleted;
        if (pass.versionsDropped + pass.segmentsRewritten + pass.objectsDeleted > 0) {
            log.info("gc: horizon {}; dropped {} versions ({} whole blocks), rewrote {} segments ({} live bytes), deleted {}"
                    + " objects; {} segments in use", h, pass.versionsDropped, pass.blocksDropped, pass.segmentsRewritten,
                    pass.bytesRewritten, pass.objectsDeleted, ps.segments.count());
        }
    }

    private long maxPackedLsn() {
        List<org.dbfs.pageserver.format.PackMark> marks = ps.manifest.getPackMarksList();
        return marks.isEmpty() ? 0 : marks.getLast().getMaxLsn();
    }

    // ---- step 2: drop versions ----

    private void dropVersions(Horizon h, List<BranchPin> pins, Stats pass) {
        Set<Object> present = presentFiles();
        long seqNow = ps.lastSeq;
        BlockIndex.Retained pages = ps.pages.retain((rel, block) -> {
            boolean gone = isGone(relationFile(rel, block), present, seqNow, h);
            Timelines timelines = ps.timelines();
            PinnedVersions pinned = new PinnedVersions(pins, timelines);
            // Versions no read on the current timeline can see (an old timeline's beyond its branch
            // LSN) are garbage; what is left is one linear history, collected as before.
            return (v, all) -> pinned.contains(v, all)
                    || (!v.isUnpacked() && (gone || !timelines.everNeeded(v)) ? false : keepByLsn(v, timelines.needed(all), h));
        }, ps.commitLock, BATCH_BLOCKS);
        BlockIndex.Retained files = ps.fileBlocks.retain((ino, block) -> {
            boolean gone = isGone(ino, present, seqNow, h);
            return (v, all) -> !v.isUnpacked() && gone ? false : keepBySeq(v, all, h.seq());
        }, ps.commitLock, BATCH_BLOCKS);
        pass.versionsDropped += pages.versionsDropped() + files.versionsDropped();
        pass.blocksDropped += pages.blocksDropped() + files.blocksDropped();
        goneSince.keySet().retainAll(seenGone);
        seenGone.clear();
    }

    private final Set<Object> seenGone = new HashSet<>();

    /** A file the namespace no longer has counts as gone from the first seq collection saw it gone. */
    private boolean isGone(Object file, Set<Object> present, long seqNow, Horizon h) {
        if (present.contains(file)) {
            return false;
        }
        seenGone.add(file);
        return goneSince.computeIfAbsent(file, f -> seqNow) < h.seq(); // gone before the horizon moved past it
    }

    private static Object relationFile(RelTag rel, long block) {
        return List.of(rel, block / RELSEG_BLOCKS);
    }

    /** The files the namespace has (linked at least once): relation segment files and plain inodes. */
    private Set<Object> presentFiles() {
        Set<Object> present = new HashSet<>();
        ps.namespaceLock().readLock().lock();
        try {
            for (InodeRecord inode : ps.namespace().inodes()) {
                if (inode.getNlink() == 0) {
                    continue;
                }
                if (inode.hasRel()) {
                    present.add(List.of(RelTagRecords.of(inode.getRel()), (long) inode.getRelSegno()));
                } else {
                    present.add(inode.getIno());
                }
            }
        } finally {
            ps.namespaceLock().readLock().unlock();
        }
        return present;
    }

    /** The versions of one block that the pins read, worked out once per version array. */
    private static final class PinnedVersions {
        private final List<BranchPin> pins;
        private final Timelines timelines;
        private Version[] of;
        private final List<Version> read = new ArrayList<>();

        PinnedVersions(List<BranchPin> pins, Timelines timelines) {
            this.pins = pins;
            this.timelines = timelines;
        }

        boolean contains(Version v, Version[] all) {
            if (pins.isEmpty()) {
                return false;
            }
            if (all != of) {
                of = all;
                read.clear();
                pins.forEach(p -> read.add(p.version(all, timelines)));
            }
            return read.contains(v); // no two versions of a block are equal: each has its own seq
        }
    }

    /** Relation pages: what reads as of any LSN at or above the horizon, and the latest read, need. */
    static boolean keepByLsn(Version v, Version[] all, Horizon h) {
        if (v.isUnpacked()) {
            return true;
        }
        Version latest = all[all.length - 1];
        if (latest.tombstone() && latest.seq() <= h.seq() && noneUnpacked(all)) {
            return false; // dropped before the horizon: no read at or after it sees the block
        }
        if (v == latest) {
            return true;
        }
        if (v.tombstone()) {
            return v.seq() > h.seq();
        }
        if (Long.compareUnsigned(v.lsn(), h.lsn()) > 0) {
            return true;
        }
        return v == VersionList.asOf(all, h.lsn());
    }

    /** File blocks: what reads as of any journal seq at or above the horizon need. */
    static boolean keepBySeq(Version v, Version[] all, long horizonSeq) {
        if (v.isUnpacked()) {
            return true;
        }
        Version latest = all[all.length - 1];
        if (latest.tombstone() && latest.seq() <= horizonSeq && noneUnpacked(all)) {
            return false;
        }
        if (v == latest || v.seq() > horizonSeq) {
            return true;
        }
        Version atHorizon = null;
        for (Version x : all) {
            if (x.seq() <= horizonSeq) {
                atHorizon = x;
            }
        }
        return v == atHorizon && !v.tombstone();
    }

    private static boolean noneUnpacked(Version[] all) {
        for (Version v : all) {
            if (v.isUnpacked()) {
                return false;
            }
        }
        return true;
    }

    // ---- step 3: rewrite ----

    private void rewrite(Horizon h, Stats pass, Instant now) throws IOException {
        int ids = ps.segments.registered();
        long[] liveBytes = new long[ids];
        countLive(ps.pages, liveBytes);
        countLive(ps.fileBlocks, liveBytes);

        List<Integer> victims = new ArrayList<>();
        long budget = ps.options.gc().maxRewriteBytes();
        List<Integer> byFill = new ArrayList<>();
        for (int id = 0; id < ids; id++) {
            if (!ps.segments.isRetired(id)) {
                byFill.add(id);
            }
        }
        byFill.sort((a, b) -> Double.compare(fill(a, liveBytes), fill(b, liveBytes)));
        long moveBytes = 0;
        for (int id : byFill) {
            if (fill(id, liveBytes) >= ps.options.gc().rewriteBelowLive() || liveBytes[id] > budget) {
                break;
            }
            victims.add(id);
            budget -= liveBytes[id];
            moveBytes += liveBytes[id];
        }
        if (victims.isEmpty() && h.lsn() == ps.manifest.getGcHorizonLsn() && h.seq() == ps.manifest.getGcHorizonSeq()) {
            return;
        }
        // Only now, and only for the victims, a reference per version: the heap stays small.
        Set<Integer> victimIds = new HashSet<>(victims);
        List<VersionRef> moving = new ArrayList<>();
        collectIn(ps.pages, victimIds, moving);
        collectIn(ps.fileBlocks, victimIds, moving);
        long minSeq = Long.MAX_VALUE;
        long maxSeq = 0;
        for (int id : victims) {
            minSeq = Math.min(minSeq, ps.segments.ref(id).getMinSeq());
            maxSeq = Math.max(maxSeq, ps.segments.ref(id).getMaxSeq());
        }
        moving.sort(VersionRef.ORDER);

        Manifest.Builder next = ps.manifest.toBuilder().setGeneration(ps.manifest.getGeneration() + 1)
                .setWriterGeneration(ps.writerGeneration).setGcHorizonLsn(h.lsn()).setGcHorizonSeq(h.seq());
        Set<String> victimNames = new HashSet<>();
        for (int id : victims) {
            victimNames.add(ps.segments.ref(id).getName());
        }
        List<SegmentRef> kept = new ArrayList<>();
        for (SegmentRef ref : ps.manifest.getSegmentsList()) {
            if (!victimNames.contains(ref.getName())) {
                kept.add(ref);
            }
        }
        next.clearSegments().addAllSegments(kept);
        SegmentRef newRef = null;
        List<SegmentEntry> written = new ArrayList<>();
        long rewrittenBytes = 0;
        if (!moving.isEmpty()) {
            String name = new BucketLayout.Segment(minSeq, maxSeq, ps.writerGeneration, next.getGeneration()).name();
            SegmentWriter writer = new SegmentWriter(name, ps.codec);
            Progress progress = Progress.toLog("gc: rewriting " + victims.size() + " segments", moveBytes, log::info);
            for (VersionRef r : moving) {
                Version v = r.version();
                byte[] data = v.tombstone() ? null : ps.segments.read(v.segment(), v.offset(), v.length());
                rewrittenBytes += data == null ? 0 : data.length;
                written.add(writer.add(r.entry(), data));
                progress.update(rewrittenBytes);
            }
            progress.finish();
            SegmentWriter.Finished done = writer.finish();
            ps.store.putIfAbsent(name, done.bytes());
            ps.segments.cacheLocally(name, done.bytes());
            newRef = SegmentRef.newBuilder().setName(name).setSize(done.bytes().length).setMinSeq(minSeq)
                    .setMaxSeq(maxSeq).setEntries(written.size()).setFooterOffset(done.footerOffset())
                    .setFooterLength(done.footerLength()).build();
            next.addSegments(newRef);
        }
        Manifest built = next.build();
        try {
            ps.manifests.commit(built);
        } catch (ManifestStore.ManifestConflictException e) {
            ps.fence(e);
            throw e;
        }
        ps.manifest = built;
        if (newRef != null) {
            int newId = ps.segments.register(newRef);
            int files = 0; // pages sort first (VersionRef.ORDER)
            while (files < moving.size() && moving.get(files).isPage()) {
                files++;
            }
            ps.pages.relocated(moving.subList(0, files), written.subList(0, files), newId, ps.commitLock);
            ps.fileBlocks.relocated(moving.subList(files, moving.size()), written.subList(files, written.size()), newId,
                    ps.commitLock);
        }
        for (int id : victims) {
            ps.segments.retire(id);
            unnamedSince.put(ps.segments.ref(id).getName(), now);
        }
        pass.segmentsRewritten += victims.size();
        pass.bytesRewritten += rewrittenBytes;
    }

    private double fill(int id, long[] liveBytes) {
        long size = ps.segments.ref(id).getSize();
        return size == 0 ? 1.0 : (double) liveBytes[id] / size;
    }

    private static <K> void countLive(BlockIndex<K> index, long[] liveBytes) {
        index.forEachPacked((owner, block, v) -> {
            int seg = v.segment();
            if (seg >= 0 && seg < liveBytes.length) {
                liveBytes[seg] += v.length();
            }
        });
    }

    private static <K> void collectIn(BlockIndex<K> index, Set<Integer> segments, List<VersionRef> out) {
        index.forEachPacked((owner, block, v) -> {
            if (segments.contains(v.segment())) {
                out.add(new VersionRef(owner, block, v));
            }
        });
    }

    // ---- step 4: delete ----

    private void deleteUnnamed(Instant now, Stats pass) {
        Set<String> named = new HashSet<>();
        for (SegmentRef ref : ps.manifest.getSegmentsList()) {
            named.add(ref.getName());
        }
        named.add(ps.manifest.getNamespaceObject());
        Set<String> seen = new HashSet<>();
        List<String> candidates = new ArrayList<>(ps.store.list(BucketLayout.SEGMENTS));
        candidates.addAll(ps.store.list(BucketLayout.NAMESPACES));
        Duration grace = ps.options.gc().grace();
        for (String name : candidates) {
            if (named.contains(name)) {
                continue;
            }
            seen.add(name);
            Instant since = unnamedSince.computeIfAbsent(name, n -> now);
            if (Duration.between(since, now).compareTo(grace) >= 0) {
                forgetSegment(name);
                ps.store.delete(name);
                pass.objectsDeleted++;
                seen.remove(name);
            }
        }
        unnamedSince.keySet().retainAll(seen);
    }

    private void forgetSegment(String name) {
        for (int id = 0; id < ps.segments.registered(); id++) {
            if (ps.segments.isRetired(id) && ps.segments.ref(id).getName().equals(name)) {
                ps.segments.forget(id);
            }
        }
    }
}
