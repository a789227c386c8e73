package org.dbfs.pageserver.store;

import com.github.benmanes.caffeine.cache.Cache;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.function.BiPredicate;
import org.dbfs.pageserver.format.SegmentEntry;
import org.lmdbjava.Txn;

/**
 * Every known version of every block of one kind of owner (relations or file inodes).
 *
 * <p>Three places, so that the heap does not grow with the database or its history:
 * <ul>
 *   <li>packed versions live on disk ({@link PackedVersions}), rebuilt from the segment footers at
 *       every start;
 *   <li>a block with versions not yet packed is <em>pinned</em>: its whole {@link VersionList}
 *       (packed versions too) stays in memory until the packer has moved them. Their number is
 *       bounded by {@code --max-journal};
 *   <li>other blocks read recently are in a bounded cache.
 * </ul>
 * A read looks at the pinned list first, then the cache, then the disk. Whoever changes the disk
 * (the packer and garbage collection, on one thread) does it in this order: disk, pinned list,
 * cache invalidation, unpinning; Caffeine loads a key atomically with its invalidation, so a
 * cache entry is never older than the disk once it has been invalidated.
 *
 * <p>Concurrency: any number of readers; writes (pinning, new versions, unpinning) hold the page
 * store's commit lock, and so do garbage collection's batches.
 */
public final class BlockIndex<K> {
    private final PackedVersions disk;
    private final PackedVersions.Table<K> table;
    private final ConcurrentHashMap<K, Blocks<K>> pinned = new ConcurrentHashMap<>();
    private final Set<VersionList> unpacked = ConcurrentHashMap.newKeySet();
    private final Cache<BlockKey<K>, VersionList> cache;
    private final AtomicLong unpackedBytes;
    private final boolean replaceAnyUnpacked;

    private record BlockKey<K>(K owner, long block) {}

    /**
     * @param replaceAnyUnpacked true for file blocks (only the latest matters until packed),
     *                           false for relation pages (versions are kept per LSN)
     * @param cachedBlocks       how many packed-only blocks to keep in memory
     */
    BlockIndex(PackedVersions disk, String name, PackedVersions.OwnerCodec<K> codec, boolean replaceAnyUnpacked,
               AtomicLong unpackedBytes, long cachedBlocks) {
        this.disk = disk;
        this.table = disk.table(name, codec);
        this.replaceAnyUnpacked = replaceAnyUnpacked;
        this.unpackedBytes = unpackedBytes;
        this.cache = Caches.newBuilder().maximumSize(cachedBlocks).build();
    }

    public VersionList get(K owner, long block) {
        VersionList list = pinnedList(owner, block);
        if (list != null) {
            return list;
        }
        return cache.get(new BlockKey<>(owner, block), k -> {
            Version[] versions = table.versions(k.owner(), k.block());
            return versions == null ? null : new VersionList(k.owner(), k.block(), versions);
        });
    }

    private VersionList pinnedList(K owner, long block) {
        Map<Long, VersionList> blocks = pinned.get(owner);
        return blocks == null ? null : blocks.get(block);
    }

    /** Adds a journaled version; the caller holds the commit lock. */
    void put(K owner, long block, Version version) {
        put(owner, block, version, 0);
    }

    /** As above; a same-LSN rewrite replaces only a version written at or after {@code sameLsnSince} ({@link VersionList#add}). */
    void put(K owner, long block, Version version, long sameLsnSince) {
        VersionList list = pin(owner, block);
        long released = list.add(version, replaceAnyUnpacked, sameLsnSince);
        unpackedBytes.addAndGet(version.unpackedBytes() - released);
        unpacked.add(list);
    }

    /** The block's pinned list, made from its packed versions if it had none; the caller holds the commit lock. */
    private VersionList pin(K owner, long block) {
        Blocks<K> blocks = pinned.computeIfAbsent(owner, Blocks::new);
        VersionList list = blocks.get(block);
        if (list == null) {
            Version[] packed = table.versions(blocks.owner, block);
            list = packed == null ? new VersionList(blocks.owner, block) : new VersionList(blocks.owner, block, packed);
            blocks.put(block, list);
        }
        return list;
    }

    /** Tombstones every block in [fromBlock, toBlock) whose latest version is live; toBlock 0 = no bound. The caller holds the commit lock. */
    /**
     * @param ownSince the journal seq from which versions are the current timeline's own: a block
     *                 whose last version is an older timeline's tombstone still reads as the parent's
     *                 history there, so it gets a tombstone of its own
     */
    void drop(K owner, long fromBlock, long toBlock, long seq, long ownSince) {
        Blocks<K> blocks = pinned.computeIfAbsent(owner, Blocks::new);
        List<VersionList> candidates = new ArrayList<>((toBlock == 0 ? blocks.tailMap(fromBlock, true)
                : blocks.subMap(fromBlock, true, toBlock, false)).values());
        try (Txn<ByteBuffer> txn = disk.read()) {
            for (PackedVersions.Block<K> b : table.blocks(txn, blocks.owner, fromBlock, toBlock)) {
                Version[] v = b.versions();
                if (!droppedAlready(v[v.length - 1], ownSince) && !blocks.containsKey(b.block())) {
                    VersionList list = new VersionList(blocks.owner, b.block(), v);
                    blocks.put(b.block(), list);
                    candidates.add(list);
                }
            }
        }
        for (VersionList list : candidates) {
            Version latest = list.latest();
            if (latest != null && !droppedAlready(latest, ownSince)) {
                list.add(Version.tombstone(seq), false, 0);
                unpacked.add(list);
            }
        }
        if (blocks.isEmpty()) {
            pinned.remove(owner, blocks);
        }
    }

    private static boolean droppedAlready(Version last, long ownSince) {
        return last.tombstone() && last.seq() >= ownSince;
    }

    /** At start, before any write: the versions a segment footer names. */
    void loadPacked(Txn<ByteBuffer> txn, K owner, long block, Version version) {
        table.put(txn, owner, block, version);
    }

    /** Removes and returns the lists holding versions not yet handed to the packer. */
    List<VersionList> drainUnpacked() {
        List<VersionList> lists = new ArrayList<>(unpacked.size());
        for (var it = unpacked.iterator(); it.hasNext(); ) {
            lists.add(it.next());
            it.remove();
        }
        return lists;
    }

    /** Hands a list back to the next pack (this one failed). */
    void markUnpacked(VersionList list) {
        unpacked.add(list);
    }

    /**
     * After the manifest names the segment: records where each version went, on disk, then in its
     * pinned list, and unpins the blocks left with nothing unpacked.
     *
     * @param refs    versions of this index, each with the footer entry the segment holds for it
     */
    void packed(List<VersionRef> refs, List<SegmentEntry> entries, int segmentId, Lock commitLock) {
        try (Txn<ByteBuffer> txn = disk.write()) {
            for (int i = 0; i < refs.size(); i++) {
                VersionRef r = refs.get(i);
                SegmentEntry e = entries.get(i);
                table.put(txn, owner(r), r.block(), r.version().movedTo(segmentId, e.getOffset(), e.getLength()));
            }
            txn.commit();
        }
        List<VersionList> touched = new ArrayList<>(refs.size());
        for (int i = 0; i < refs.size(); i++) {
            VersionRef r = refs.get(i);
            SegmentEntry e = entries.get(i);
            VersionList list = pinnedList(owner(r), r.block());
            if (list.markPacked(r.version().seq(), segmentId, e.getOffset(), e.getLength())) {
                unpackedBytes.addAndGet(-r.version().unpackedBytes());
            }
            cache.invalidate(new BlockKey<>(owner(r), r.block()));
            touched.add(list);
        }
        commitLock.lock();
        try {
            for (VersionList list : touched) {
                unpinIfPacked(list);
            }
        } finally {
            commitLock.unlock();
        }
    }

    private void unpinIfPacked(VersionList list) {
        if (list.hasUnpacked()) {
            return;
        }
        @SuppressWarnings("unchecked")
        K owner = (K) list.owner();
        ConcurrentSkipListMap<Long, VersionList> blocks = pinned.get(owner);
        if (blocks != null) {
            blocks.remove(list.block(), list);
            if (blocks.isEmpty()) {
                pinned.remove(owner, blocks);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private K owner(VersionRef r) {
        return (K) r.owner();
    }

    /** What garbage collection decides for one block: which versions to keep. */
    interface Retention<K> {
        BiPredicate<Version, Version[]> keep(K owner, long block);
    }

    /** What {@link #retain} did. */
    record Retained(long versionsDropped, long blocksDropped) {}

    /**
     * Garbage collection's pass over every block with packed versions: drops the versions
     * {@code policy} rejects, from disk and from pinned lists, {@code batchBlocks} blocks at a time
     * under the commit lock so that no write pins a block between the decision and its effect.
     */
    Retained retain(Retention<K> policy, Lock commitLock, int batchBlocks) {
        long versions = 0;
        long blocksGone = 0;
        PackedVersions.Block<K> after = null;
        while (true) {
            List<BlockKey<K>> invalidate = new ArrayList<>();
            List<VersionList> emptied = new ArrayList<>();
            commitLock.lock();
            try (Txn<ByteBuffer> txn = disk.write()) {
                List<PackedVersions.Block<K>> batch = table.scan(txn, after, batchBlocks);
                if (batch.isEmpty()) {
                    break;
                }
                for (PackedVersions.Block<K> b : batch) {
                    VersionList pinnedList = pinnedList(b.owner(), b.block());
                    VersionList list = pinnedList != null ? pinnedList : new VersionList(b.owner(), b.block(), b.versions());
                    List<Version> dropped = list.retain(policy.keep(b.owner(), b.block()));
                    if (dropped.isEmpty()) {
                        continue;
                    }
                    versions += dropped.size();
                    for (Version v : dropped) {
                        table.delete(txn, b.owner(), b.block(), v.seq());
                    }
                    if (list.isEmpty()) {
                        blocksGone++;
                        if (pinnedList != null) {
                            emptied.add(pinnedList);
                        }
                    }
                    invalidate.add(new BlockKey<>(b.owner(), b.block()));
                }
                txn.commit();
                // The class's order: disk, then cache, then unpinning, so no reader falls through
                // from an unpinned block to a cache entry from before the commit.
                cache.invalidateAll(invalidate);
                emptied.forEach(this::unpinIfPacked);
                after = batch.getLast();
            } finally {
                commitLock.unlock();
            }
        }
        return new Retained(versions, blocksGone);
    }

    /** Visits every packed version (garbage collection's accounting); one snapshot of the disk. */
    void forEachPacked(PackedVisitor<K> visitor) {
        try (Txn<ByteBuffer> txn = disk.read()) {
            PackedVersions.Block<K> after = null;
            while (true) {
                List<PackedVersions.Block<K>> batch = table.scan(txn, after, 4096);
                if (batch.isEmpty()) {
                    return;
                }
                for (PackedVersions.Block<K> b : batch) {
                    for (Version v : b.versions()) {
                        visitor.visit(b.owner(), b.block(), v);
                    }
                }
                after = batch.getLast();
            }
        }
    }

    interface PackedVisitor<K> {
        void visit(K owner, long block, Version version);
    }

    /**
     * After the manifest names a rewritten segment: points each moved version at its copy, unless
     * it went meanwhile, on disk and in its pinned list.
     */
    void relocated(List<VersionRef> moved, List<SegmentEntry> entries, int toSegment, Lock commitLock) {
        List<BlockKey<K>> invalidate = new ArrayList<>(moved.size());
        commitLock.lock();
        try (Txn<ByteBuffer> txn = disk.write()) {
            for (int i = 0; i < moved.size(); i++) {
                VersionRef r = moved.get(i);
                K owner = owner(r);
                Version v = r.version();
                SegmentEntry e = entries.get(i);
                Version current = table.get(txn, owner, r.block(), v.seq());
                if (current == null || current.segment() != v.segment()) {
                    continue;
                }
                table.put(txn, owner, r.block(), current.movedTo(toSegment, e.getOffset(), e.getLength()));
                VersionList pinnedList = pinnedList(owner, r.block());
                if (pinnedList != null) {
                    pinnedList.relocate(v.seq(), v.segment(), toSegment, e.getOffset(), e.getLength());
                }
                invalidate.add(new BlockKey<>(owner, r.block()));
            }
            txn.commit();
        } finally {
            commitLock.unlock();
        }
        cache.invalidateAll(invalidate);
    }

    /** Blocks whose whole version list is held in memory because some version waits to be packed. */
    long pinnedBlocks() {
        long n = 0;
        for (Blocks<K> blocks : pinned.values()) {
            n += blocks.size();
        }
        return n;
    }

    /** Packed-only blocks held in the cache now. */
    long cachedBlocks() {
        cache.cleanUp();
        return cache.estimatedSize();
    }

    /**
     * One owner's pinned blocks, with the owner key every one of its lists shares: callers pass a
     * fresh key per write, and keeping each would cost an object per block.
     */
    private static final class Blocks<K> extends ConcurrentSkipListMap<Long, VersionList> {
        final K owner;

        Blocks(K owner) {
            this.owner = owner;
        }
    }
}
