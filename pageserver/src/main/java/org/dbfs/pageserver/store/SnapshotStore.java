package org.dbfs.pageserver.store;

import com.google.protobuf.InvalidProtocolBufferException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.PreconditionFailedException;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.DataDirSnapshot;
import org.dbfs.protocol.pageserver.v1.SnapshotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bucket's data-directory snapshots ({@link BucketLayout.DataDirSnapshot}): one sealed frame
 * each, written once by the page server that took it, listed at start and kept in memory after.
 * What a time-travel mount at X starts from is the newest one whose WAL end is at or below X.
 */
public final class SnapshotStore {
    private static final Logger log = LoggerFactory.getLogger(SnapshotStore.class);

    private final ObjectStore store;
    private final FrameCodec codec;
    private final long generation;
    private final List<SnapshotInfo> known = new ArrayList<>(); // by WAL end; guarded by this

    SnapshotStore(ObjectStore store, FrameCodec codec, long generation) {
        this.store = store;
        this.codec = codec;
        this.generation = generation;
        for (String name : store.list(BucketLayout.SNAPSHOTS)) {
            Optional<BucketLayout.DataDirSnapshot> parsed = BucketLayout.DataDirSnapshot.parse(name);
            if (parsed.isEmpty()) {
                continue;
            }
            long size = store.stat(name).map(ObjectStore.ObjectInfo::size).orElse(0L);
            known.add(info(name, parsed.get(), size));
        }
        known.sort(ORDER);
    }

    private static final Comparator<SnapshotInfo> ORDER = (a, b) -> {
        int c = Long.compareUnsigned(a.getWalEnd(), b.getWalEnd());
        return c != 0 ? c : a.getName().compareTo(b.getName());
    };

    private static SnapshotInfo info(String name, BucketLayout.DataDirSnapshot s, long size) {
        return SnapshotInfo.newBuilder().setName(name).setWalEnd(s.walEnd()).setCheckpoint(s.checkpoint()).setSize(size)
                .setTakenAtMs(s.takenAtMs()).build();
    }

    /** Seals and stores {@code snapshot}; returns what it lists as. */
    public SnapshotInfo put(DataDirSnapshot snapshot) {
        BucketLayout.DataDirSnapshot key = new BucketLayout.DataDirSnapshot(snapshot.getWalEnd(), snapshot.getCheckpoint(),
                snapshot.getTakenAtMs(), generation);
        String name = key.name();
        byte[] sealed = codec.seal(snapshot.toByteArray(), FrameCodec.associatedData(name, 0));
        try {
            store.putIfAbsent(name, sealed);
        } catch (PreconditionFailedException e) {
            store.put(name, sealed); // ours from an earlier attempt: same generation, checkpoint, WAL end and time
        }
        SnapshotInfo info = info(name, key, sealed.length);
        synchronized (this) {
            known.removeIf(s -> s.getName().equals(name));
            known.add(info);
            known.sort(ORDER);
        }
        return info;
    }

    /** Every snapshot, oldest WAL end first. */
    public synchronized List<SnapshotInfo> list() {
        return List.copyOf(known);
    }

    /** The newest snapshot whose WAL end is at or below {@code lsn}. */
    public synchronized Optional<SnapshotInfo> newestAtOrBelow(long lsn) {
        SnapshotInfo found = null;
        for (SnapshotInfo s : known) {
            if (Long.compareUnsigned(s.getWalEnd(), lsn) <= 0) {
                found = s;
            }
        }
        return Optional.ofNullable(found);
    }

    /**
     * The serialized snapshot, authenticated and parsed once to check it.
     *
     * @throws IntegrityException naming the object if it fails authentication or does not parse
     */
    public byte[] read(String name) {
        if (BucketLayout.DataDirSnapshot.parse(name).isEmpty()) {
            throw new IllegalArgumentException("not a snapshot name: " + name);
        }
        String object = "data-directory snapshot " + name + " in " + store.describe();
        byte[] plain = codec.open(store.get(name), FrameCodec.associatedData(name, 0), object);
        try {
            DataDirSnapshot.parseFrom(plain);
        } catch (InvalidProtocolBufferException e) {
            throw new IntegrityException(object + " is corrupt: it authenticates but does not parse", e);
        }
        return plain;
    }

    /**
     * Deletes the snapshots no read at or above {@code horizonLsn} can start from: all but the
     * newest one at or below it, and those named in {@code pinned} (live branches start from them).
     * @return how many were deleted
     */
    int collect(long horizonLsn, Set<String> pinned) {
        List<SnapshotInfo> doomed = new ArrayList<>();
        synchronized (this) {
            SnapshotInfo keep = newestAtOrBelow(horizonLsn).orElse(null);
            for (SnapshotInfo s : known) {
                if (s != keep && Long.compareUnsigned(s.getWalEnd(), horizonLsn) <= 0 && !pinned.contains(s.getName())) {
                    doomed.add(s);
                }
            }
            known.removeAll(doomed);
        }
        for (SnapshotInfo s : doomed) {
            store.delete(s.getName());
            log.info("gc: deleted data-directory snapshot {} (WAL end {}): the horizon {} is past it and a newer one"
                    + " serves every read from there", s.getName(), Lsn.format(s.getWalEnd()), Lsn.format(horizonLsn));
        }
        return doomed.size();
    }
}
