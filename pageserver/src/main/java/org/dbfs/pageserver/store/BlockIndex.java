package org.dbfs.pageserver.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/**
 * Every known version of every block of one kind of owner (relations or file inodes), in memory.
 *
 * <p>This is the page server's whole index: it is rebuilt at start from the segment footers and
 * the journal, so it carries no checksum and is never written out as such. Lookups are a hash
 * probe plus a skip-list probe; truncation walks the owner's blocks in order.
 *
 * <p>Concurrency: any number of readers; mutations come from the single journal writer (under the
 * page store's write lock) and from the packer ({@link VersionList} synchronizes those two).
 */
public final class BlockIndex<K> {
    private final ConcurrentHashMap<K, Blocks<K>> owners = new ConcurrentHashMap<>();
    private final Set<VersionList> unpacked = ConcurrentHashMap.newKeySet();
    private final AtomicLong unpackedBytes;
    private final boolean replaceAnyUnpacked;

    /**
     * @param replaceAnyUnpacked true for file blocks (only the latest matters until packed),
     *                           false for relation pages (versions are kept per LSN)
     */
    BlockIndex(boolean replaceAnyUnpacked, AtomicLong unpackedBytes) {
        this.replaceAnyUnpacked = replaceAnyUnpacked;
        this.unpackedBytes = unpackedBytes;
    }

    public VersionList get(K owner, long block) {
        Map<Long, VersionList> blocks = owners.get(owner);
        return blocks == null ? null : blocks.get(block);
    }

    void put(K owner, long block, Version version) {
        Blocks<K> blocks = owners.computeIfAbsent(owner, Blocks::new);
        VersionList list = blocks.computeIfAbsent(block, b -> new VersionList(blocks.owner, b));
        long released = list.add(version, replaceAnyUnpacked);
        unpackedBytes.addAndGet((version.data() == null ? 0 : version.data().length) - released);
        unpacked.add(list);
    }

    void putLoaded(K owner, long block, Version version) {
        Blocks<K> blocks = owners.computeIfAbsent(owner, Blocks::new);
        blocks.computeIfAbsent(block, b -> new VersionList(blocks.owner, b)).addLoaded(version);
    }

    /** Tombstones every present block in [fromBlock, toBlock); toBlock 0 = no upper bound. */
    void drop(K owner, long fromBlock, long toBlock, long seq) {
        ConcurrentSkipListMap<Long, VersionList> blocks = owners.get(owner);
        if (blocks == null) {
            return;
        }
        Map<Long, VersionList> range = toBlock == 0 ? blocks.tailMap(fromBlock, true)
                : blocks.subMap(fromBlock, true, toBlock, false);
        for (VersionList list : range.values()) {
            Version latest = list.latest();
            if (latest != null && !latest.tombstone()) {
                list.add(Version.tombstone(seq), false);
                unpacked.add(list);
            }
        }
    }

    /** Highest block number with a live latest version, or -1. */
    long lastLiveBlock(K owner) {
        ConcurrentSkipListMap<Long, VersionList> blocks = owners.get(owner);
        if (blocks == null) {
            return -1;
        }
        for (Map.Entry<Long, VersionList> e : blocks.descendingMap().entrySet()) {
            Version latest = e.getValue().latest();
            if (latest != null && !latest.tombstone()) {
                return e.getKey();
            }
        }
        return -1;
    }

    /** Visits every block's version list (garbage collection); lists added meanwhile may be missed. */
    void forEach(BiConsumer<K, VersionList> visitor) {
        owners.forEach((owner, blocks) -> blocks.values().forEach(list -> visitor.accept(owner, list)));
    }

    /**
     * Forgets a block whose list garbage collection emptied. The caller holds the page store's
     * commit lock, so no write can be adding to the list while it goes.
     */
    void removeIfEmpty(K owner, long block) {
        ConcurrentSkipListMap<Long, VersionList> blocks = owners.get(owner);
        if (blocks == null) {
            return;
        }
        VersionList list = blocks.get(block);
        if (list != null && list.isEmpty()) {
            blocks.remove(block);
            unpacked.remove(list);
        }
        if (blocks.isEmpty()) {
            owners.remove(owner);
        }
    }

    /** Removes and returns the lists holding unpacked versions; the packer re-adds leftovers. */
    List<VersionList> drainUnpacked() {
        List<VersionList> lists = new ArrayList<>(unpacked.size());
        for (var it = unpacked.iterator(); it.hasNext(); ) {
            lists.add(it.next());
            it.remove();
        }
        return lists;
    }

    void markUnpacked(VersionList list) {
        unpacked.add(list);
    }

    /**
     * One owner's blocks, with the owner key every one of its lists shares: callers pass a fresh key
     * per write, and keeping each would cost an object per block.
     */
    private static final class Blocks<K> extends ConcurrentSkipListMap<Long, VersionList> {
        final K owner;

        Blocks(K owner) {
            this.owner = owner;
        }
    }
}
