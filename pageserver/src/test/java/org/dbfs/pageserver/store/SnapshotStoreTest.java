package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.protocol.pageserver.v1.DataDirSnapshot;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.SnapshotEntry;
import org.dbfs.protocol.pageserver.v1.SnapshotInfo;
import org.junit.jupiter.api.Test;

/**
 * Data-directory snapshots in the bucket: sealed, listed again by a restarted page server, the
 * newest at or below a point found, and collected down to the one the retention horizon still needs.
 */
class SnapshotStoreTest extends StoreTestBase {

    private static DataDirSnapshot snapshot(long walEnd, long checkpoint) {
        return DataDirSnapshot.newBuilder().setWalEnd(walEnd).setCheckpoint(checkpoint).setRedo(checkpoint - 0x28)
                .setTimeline(1).setSystemIdentifier(42).setTakenAtMs(1_000 + walEnd)
                .addEntries(SnapshotEntry.newBuilder().setPath("/").setType(NodeType.DIRECTORY).setMode(0700))
                .addEntries(SnapshotEntry.newBuilder().setPath("/pg_xact").setType(NodeType.DIRECTORY).setMode(0700))
                .addEntries(SnapshotEntry.newBuilder().setPath("/pg_xact/0000").setType(NodeType.REGULAR).setMode(0600)
                        .setSize(3).setData(ByteString.copyFromUtf8("xyz")))
                .build();
    }

    @Test
    void snapshotsAreListedAfterARestartAndFoundByWalEnd() throws IOException {
        open(StoreOptions.defaults(tmp.resolve("cache")));
        SnapshotStore snapshots = store.snapshots();
        snapshots.put(snapshot(0x3000, 0x2F00));
        snapshots.put(snapshot(0x1000, 0x0F00));
        snapshots.put(snapshot(0x2000, 0x1F00));
        store.close();
        store = null;
        open(StoreOptions.defaults(tmp.resolve("cache")));
        List<SnapshotInfo> listed = store.snapshots().list();
        assertEquals(List.of(0x1000L, 0x2000L, 0x3000L), listed.stream().map(SnapshotInfo::getWalEnd).toList());
        assertEquals(0x1F00, listed.get(1).getCheckpoint());
        assertEquals(1_000 + 0x2000, listed.get(1).getTakenAtMs());
        assertTrue(listed.get(1).getSize() > 0);
        assertEquals(0x2000, store.snapshots().newestAtOrBelow(0x2FFF).orElseThrow().getWalEnd());
        assertEquals(0x3000, store.snapshots().newestAtOrBelow(0x3000).orElseThrow().getWalEnd());
        assertTrue(store.snapshots().newestAtOrBelow(0x0FFF).isEmpty());
        assertArrayEquals(snapshot(0x2000, 0x1F00).toByteArray(), store.snapshots().read(listed.get(1).getName()));
    }

    @Test
    void collectionKeepsTheNewestAtOrBelowTheHorizonAndEverythingAfter() throws IOException {
        open(StoreOptions.defaults(tmp.resolve("cache")));
        SnapshotStore snapshots = store.snapshots();
        for (long s = 0x1000; s <= 0x5000; s += 0x1000) {
            snapshots.put(snapshot(s, s - 0x100));
        }
        assertEquals(0, snapshots.collect(0x0800, Set.of()), "nothing below the oldest: nothing to delete");
        assertEquals(2, snapshots.collect(0x3800, Set.of())); // 0x3000 serves reads from 0x3800 on; 0x1000 and 0x2000 go
        assertEquals(List.of(0x3000L, 0x4000L, 0x5000L), snapshots.list().stream().map(SnapshotInfo::getWalEnd).toList());
        assertEquals(List.of(0x3000L, 0x4000L, 0x5000L), bucket.list(BucketLayout.SNAPSHOTS).stream()
                .map(n -> BucketLayout.DataDirSnapshot.parse(n).orElseThrow().walEnd()).sorted().toList(),
                "the objects themselves are deleted");
        assertEquals(0, snapshots.collect(0x3800, Set.of()), "collecting again at the same horizon deletes nothing more");
        assertEquals(0, snapshots.collect(0x4000, Set.of(snapshots.list().getFirst().getName())), "a branch starts from it");
        assertEquals(1, snapshots.collect(0x4000, Set.of()));
    }

    @Test
    void aDamagedSnapshotIsReportedByNameAndNeverServed() throws IOException {
        open(StoreOptions.defaults(tmp.resolve("cache")));
        SnapshotInfo info = store.snapshots().put(snapshot(0x1000, 0xF00));
        byte[] bytes = bucket.get(info.getName());
        bytes[bytes.length / 2] ^= 0x10;
        bucket.put(info.getName(), bytes);
        IntegrityException e = assertThrows(IntegrityException.class, () -> store.snapshots().read(info.getName()));
        assertTrue(e.getMessage().contains(info.getName()), e.getMessage());
    }
}
