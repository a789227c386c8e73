package org.dbfs.pageserver.store;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.cli.Progress;
import org.dbfs.bucket.objectstore.ObjectStoreException;
import org.dbfs.bucket.objectstore.PreconditionFailedException;
import org.dbfs.pageserver.format.Manifest;
import org.dbfs.pageserver.format.NamespaceSnapshot;
import org.dbfs.pageserver.format.PackMark;
import org.dbfs.pageserver.format.SegmentEntry;
import org.dbfs.pageserver.format.SegmentRef;
import org.dbfs.pageserver.segment.SegmentWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves journaled versions into immutable segment objects and moves the manifest forward.
 *
 * <p>One pack: fix a sequence number S (the last record, rolling the journal there, or a cut a
 * chunk of data further, see {@link PackCuts}), read every unpacked version with seq <= S back from
 * the journal into one sorted segment, upload it, write a namespace snapshot if S is the last
 * record and the namespace changed, compare-and-swap the manifest to (segments + new one,
 * packed_seq = S, namespace_seq), then point the index at the segment and delete the journal files
 * below the namespace's seq. A crash anywhere before the manifest
 * swap leaves the old manifest valid and the journal intact; an orphaned segment object is
 * harmless ({@link GarbageCollector} deletes objects no manifest names). Objects are
 * named with this writer's lease generation and created only if absent ({@link BucketLayout}), so
 * no other writer's upload can replace an object a manifest names. Losing the manifest's
 * compare-and-swap means another writer took the bucket: the store is fenced at once.
 *
 * <p>Runs on its own thread, and garbage collection runs there between packs; {@link #packOnce}
 * and {@link #collectGarbage} are also callable directly and are serialized with it.
 */
final class Packer {
    private static final Logger log = LoggerFactory.getLogger(Packer.class);

    private final PageStore ps;
    private final GarbageCollector gc;
    private final Thread thread;
    private final Object wakeLock = new Object();
    private boolean wakeRequested;
    private volatile boolean stopped;
    private volatile RuntimeException fatal;

    Packer(PageStore ps) {
        this.ps = ps;
        this.gc = new GarbageCollector(ps, ps.readers.leases);
        this.thread = new Thread(this::run, "packer");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    void wake() {
        synchronized (wakeLock) {
            wakeRequested = true;
            wakeLock.notifyAll();
        }
    }

    void stop() {
        stopped = true;
        wake();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        long backoffMs = 1000;
        while (!stopped) {
            synchronized (wakeLock) {
                if (!wakeRequested) {
                    try {
                        wakeLock.wait(ps.options.packInterval().toMillis());
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                wakeRequested = false;
            }
            if (stopped) {
                return;
            }
            try {
                packOnce();
                collectGarbageIfDue();
                backoffMs = 1000;
            } catch (ManifestStore.ManifestConflictException e) {
                return; // fenced in write()
            } catch (ObjectStoreException | IOException e) {
                log.error("packing into {} failed, will retry in {} ms (writes stay durable in the journal): {}",
                        ps.store.describe(), backoffMs, e.getMessage());
                sleepQuietly(backoffMs);
                backoffMs = Math.min(backoffMs * 2, 30_000);
            } catch (RuntimeException e) {
                log.error("packing failed unexpectedly; will retry", e);
                sleepQuietly(backoffMs);
                backoffMs = Math.min(backoffMs * 2, 30_000);
            }
        }
    }

    private void packOnce() throws IOException {
        packOnce(false);
    }

    private synchronized void collectGarbageIfDue() throws IOException {
        if (fatal == null && ps.fenced() == null) {
            gc.runIfDue();
        }
    }

    GarbageCollector.Totals gcTotals() {
        return gc.totals();
    }

    /** One garbage collection now, whatever the interval (tests, and an operator's request later). */
    synchronized GarbageCollector.Totals collectGarbage() throws IOException {
        if (fatal != null) {
            throw fatal;
        }
        gc.run(ps.clock.instant());
        return gc.totals();
    }

    /**
     * Packs every record committed so far, a chunk at a time (see {@link PackCuts}): the namespace
     * is snapshotted with the last chunk, the one that reaches the last record.
     *
     * @param markClean also clear the manifest's unpacked-writes mark (the clean stop: no commit
     *                  can follow)
     * @return the seq range all chunks covered together
     */
    synchronized PageStore.Packed packOnce(boolean markClean) throws IOException {
        if (fatal != null) {
            throw fatal;
        }
        long target = ps.lastSeq;
        long backlog = ps.unpackedBytes.get(); // what this call packs, about: writes meanwhile go to the next
        // Packing fell behind (a bucket outage, a journal replayed at start, a burst of writes): say how catching up goes.
        Progress catchUp = backlog > 2 * ps.options.packBytes()
                ? Progress.toLog("packing the journal backlog into " + ps.store.describe(), backlog, log::info) : null;
        PageStore.Packed total = PageStore.Packed.NOTHING;
        while (true) {
            Chunk chunk = packChunk(markClean);
            if (chunk.packed() != PageStore.Packed.NOTHING) {
                total = total == PageStore.Packed.NOTHING ? chunk.packed() : new PageStore.Packed(total.fromSeq(),
                        chunk.packed().toSeq(), total.versions() + chunk.packed().versions(),
                        chunk.packed().segment() != null ? chunk.packed().segment() : total.segment());
            }
            if (catchUp != null) {
                catchUp.advance(chunk.bytes());
            }
            if (chunk.last() || ps.manifest.getPackedSeq() >= target && !markClean) {
                if (catchUp != null) {
                    catchUp.finish();
                }
                return total;
            }
        }
    }

    /** One pack; {@code last} if it reached the last record (and so took the namespace along). */
    private record Chunk(PageStore.Packed packed, boolean last, long bytes) {}

    private Chunk packChunk(boolean markClean) throws IOException {
        long prevPacked = ps.manifest.getPackedSeq();
        long seq;
        long maxLsn;
        boolean last;
        long namespaceSeq; // the namespace object will be complete up to here
        NamespaceSnapshot nsSnapshot = null;
        ps.commitLock.lock();
        try {
            seq = ps.cuts.cut(prevPacked, ps.lastSeq);
            last = seq == ps.lastSeq;
            maxLsn = last ? ps.maxPageLsn : ps.cuts.maxLsnAt(seq);
            boolean namespaceBehind = ps.namespaceSeq > PageStore.namespaceSeqOf(ps.manifest)
                    || ps.manifest.getNamespaceObject().isEmpty();
            if (seq == prevPacked && !namespaceBehind && !(markClean && ps.manifest.hasUnpacked())) {
                return new Chunk(PageStore.Packed.NOTHING, true, 0);
            }
            if (last && seq > prevPacked) {
                ps.journal.roll(seq + 1);
            }
            if (last && namespaceBehind) {
                nsSnapshot = ps.namespace.snapshot(seq);
            }
            // Unchanged since its snapshot, the namespace object is complete up to any seq.
            namespaceSeq = namespaceBehind && !last ? PageStore.namespaceSeqOf(ps.manifest) : seq;
        } finally {
            ps.commitLock.unlock();
        }

        List<VersionRef> candidates = new ArrayList<>();
        List<VersionList> pageLists = collect(ps.pages, seq, candidates);
        List<VersionList> fileLists = collect(ps.fileBlocks, seq, candidates);
        candidates.sort(VersionRef.ORDER);
        long bytes = 0;
        for (VersionRef c : candidates) {
            bytes += c.version().unpackedBytes();
        }
        try {
            PageStore.Packed packed = write(prevPacked, seq, maxLsn, nsSnapshot, namespaceSeq, candidates, markClean && last);
            ps.cuts.packed(seq, maxLsn);
            ps.packed();
            return new Chunk(packed, last, bytes);
        } catch (IOException | RuntimeException e) {
            // Nothing moved: hand the versions back so the next attempt packs them.
            pageLists.forEach(ps.pages::markUnpacked);
            fileLists.forEach(ps.fileBlocks::markUnpacked);
            throw e;
        }
    }

    private PageStore.Packed write(long prevPacked, long seq, long maxLsn, NamespaceSnapshot nsSnapshot, long namespaceSeq,
                                   List<VersionRef> candidates, boolean markClean) throws IOException {
        Instant now = ps.clock.instant();
        List<PackMark> marks = new ArrayList<>(ps.manifest.getPackMarksList());
        long walEnd = ps.walMarks.endAt(ps.timelines().current().timeline(), seq); // for a branch's cut (BranchCut)
        marks.add(PackMark.newBuilder().setTimeMs(now.toEpochMilli()).setSeq(seq).setMaxLsn(maxLsn).setWalEndLsn(walEnd).build());

        Manifest.Builder next = ps.manifest.toBuilder()
                .setFormatVersion(ManifestStore.FORMAT_VERSION)
                .setGeneration(ps.manifest.getGeneration() + 1)
                .setWriterGeneration(ps.writerGeneration)
                .setPackedSeq(seq)
                .clearPackMarks().addAllPackMarks(Horizon.trim(marks, now, ps.options.gc().retention()))
                .setWalMarksTimeline(ps.walMarks.timeline()).clearWalMarks().addAllWalMarks(ps.walMarks.upTo(seq));
        if (markClean) {
            next.clearUnpacked();
        }
        String segmentName = null;
        SegmentRef ref = null;
        List<SegmentEntry> written = new ArrayList<>(candidates.size());
        if (!candidates.isEmpty()) {
            segmentName = new BucketLayout.Segment(prevPacked + 1, seq, ps.writerGeneration).name();
            SegmentWriter writer = new SegmentWriter(segmentName, ps.codec);
            byte[][] data = ps.unpackedData(candidates);
            for (int i = 0; i < candidates.size(); i++) {
                written.add(writer.add(candidates.get(i).entry(), data[i]));
            }
            SegmentWriter.Finished done = writer.finish();
            createOwn(segmentName, done.bytes());
            ps.segments.cacheLocally(segmentName, done.bytes());
            ref = SegmentRef.newBuilder().setName(segmentName).setSize(done.bytes().length)
                    .setMinSeq(prevPacked + 1).setMaxSeq(seq).setEntries(written.size())
                    .setFooterOffset(done.footerOffset()).setFooterLength(done.footerLength()).build();
            next.addSegments(ref);
        }
        String oldNamespace = ps.manifest.getNamespaceObject();
        if (nsSnapshot != null) {
            String nsName = new BucketLayout.NamespaceSnapshot(seq, ps.writerGeneration).name();
            createOwn(nsName, NamespaceObjects.seal(ps.codec, nsName, nsSnapshot));
            next.setNamespaceObject(nsName);
        }
        next.setNamespaceSeq(namespaceSeq);
        Manifest built = next.build();
        try {
            ps.manifests.commit(built);
        } catch (ManifestStore.ManifestConflictException e) {
            fatal = e;
            ps.fence(e);
            throw e;
        }
        ps.manifest = built;

        if (ref != null) {
            int id = ps.segments.register(ref);
            // Pages sort before file blocks (VersionRef.ORDER): one split gives each index its part.
            int files = 0;
            while (files < candidates.size() && candidates.get(files).isPage()) {
                files++;
            }
            ps.pages.packed(candidates.subList(0, files), written.subList(0, files), id, ps.commitLock);
            ps.fileBlocks.packed(candidates.subList(files, candidates.size()), written.subList(files, written.size()),
                    id, ps.commitLock);
        }
        ps.journal.deleteUpTo(PageStore.namespaceSeqOf(built)); // the namespace may still need records above it
        if (nsSnapshot != null && !oldNamespace.isEmpty()) {
            ps.store.delete(oldNamespace);
        }
        log.debug("packed seq {}..{}: {} versions into {}", prevPacked + 1, seq, candidates.size(), segmentName);
        return new PageStore.Packed(prevPacked + 1, seq, candidates.size(), segmentName);
    }

    /**
     * Creates an object under a name carrying this writer's generation. Only this writer makes such
     * names, so one that exists already is this writer's own upload from an attempt whose manifest
     * swap failed (a bucket outage), and is replaced.
     */
    private void createOwn(String name, byte[] bytes) {
        try {
            ps.store.putIfAbsent(name, bytes);
        } catch (PreconditionFailedException e) {
            ps.store.put(name, bytes);
        }
    }

    /** Adds the unpacked versions up to {@code seq} to {@code out}; returns the lists they came from. */
    private static <K> List<VersionList> collect(BlockIndex<K> index, long seq, List<VersionRef> out) {
        List<VersionList> lists = index.drainUnpacked();
        for (VersionList list : lists) {
            boolean leftover = false;
            for (Version v : list.snapshot()) {
                if (!v.isUnpacked()) {
                    continue;
                }
                if (v.seq() <= seq) {
                    out.add(VersionRef.of(list, v));
                } else {
                    leftover = true;
                }
            }
            if (leftover) {
                index.markUnpacked(list);
            }
        }
        return lists;
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
