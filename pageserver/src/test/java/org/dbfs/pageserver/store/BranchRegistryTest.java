package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.fencing.ClusterLeaseStore;
import org.dbfs.pageserver.format.BranchRegistration;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.junit.jupiter.api.Test;

/**
 * The registry of a bucket's branches: a name is taken once, registrations and their pins survive
 * a restart, a delete empties the branch's prefix, and what may not be done is refused, changing nothing.
 */
class BranchRegistryTest extends StoreTestBase {
    static final byte[] KEY_OBJECT = "the bucket's key parameters".getBytes(StandardCharsets.UTF_8);

    void openStore() throws IOException {
        open(StoreOptions.defaults(tmp.resolve("cache")));
        bucket.put(BucketLayout.KEY, KEY_OBJECT); // what BucketKeys writes for a real bucket
    }

    /** A new store whose primary has written WAL up to 0/180: a branch at 0/200 sees every version so far. */
    void openFresh() throws IOException {
        openStore();
        PrimaryWal.writeUpTo(store, 1, 0x180);
    }

    void restart() throws IOException {
        store.close();
        openStore();
    }

    BranchRefusedException.Reason refusal(Runnable call) {
        return assertThrows(BranchRefusedException.class, call::run).reason;
    }

    @Test
    void aNameIsTakenOnceAndTheBranchSurvivesARestartUntilDeleted() throws IOException {
        openFresh();
        store.commit(JournalRecord.newBuilder().addPages(PageVersionRecord.newBuilder().setRel(RelTagRecords.toRecord(
                TimelineBranchTest.REL)).setLsn(0x100).setData(com.google.protobuf.ByteString.copyFrom(PageStoreTest.page(0x100, "p")))));
        BranchRegistration dev = store.branches().create("dev", 0x200, "snapshots/one");
        assertEquals(BranchRegistration.State.ACTIVE, dev.getState());
        assertEquals("branches/dev/", dev.getPrefix());
        assertEquals(store.lastSeq() + 1, dev.getParentCutSeq(), "no WAL past the point yet: every version so far is the branch's");
        assertArrayEquals(KEY_OBJECT, bucket.get("branches/dev/dbfs-key"), "one passphrase opens both");

        BranchRefusedException again = assertThrows(BranchRefusedException.class,
                () -> store.branches().create("dev", 0x300, "snapshots/two"));
        assertEquals(BranchRefusedException.Reason.EXISTS, again.reason);
        assertTrue(again.getMessage().startsWith("branch dev exists (created ") && again.getMessage().contains("at LSN 0/200"),
                again.getMessage());

        bucket.put("branches/dev/manifest", new byte[10]); // the branch's own objects, as its page server writes them
        bucket.put("branches/dev/segments/1.seg", new byte[100]);
        restart();
        assertEquals(List.of(dev), store.branches().list(), "read back from the bucket");
        assertEquals(new BranchPin("dev", 0x200, dev.getParentCutSeq(), "snapshots/one"), store.branches().pin("dev"));
        assertEquals(new BranchRegistry.Usage(3, KEY_OBJECT.length + 110), store.branches().usage("dev"));
        assertEquals(BranchRefusedException.Reason.EXISTS, refusal(() -> store.branches().checkNew("dev")));

        assertEquals(3, store.branches().delete("dev"));
        assertEquals(List.of(), bucket.list("branches/"), "the prefix is empty");
        assertEquals(List.of(), bucket.list(BucketLayout.BRANCH_REGISTRY));
        assertEquals(BranchRefusedException.Reason.NOT_FOUND, refusal(() -> store.branches().pin("dev")));
        restart();
        assertEquals(List.of(), store.branches().list());
        assertEquals(BranchRefusedException.Reason.NOT_FOUND, refusal(() -> store.branches().delete("dev")));
        assertEquals(0x300, store.branches().create("dev", 0x300, "snapshots/two").getXEnd(), "the name is free again");
    }

    @Test
    void badNamesAreRefused() throws IOException {
        openFresh();
        for (String bad : List.of("", "Dev", "-dev", "_dev", "a/b", "a.b", "dév", "x".repeat(64))) {
            assertEquals(BranchRefusedException.Reason.BAD_NAME, refusal(() -> store.branches().create(bad, 0x200, "s")), bad);
        }
        assertEquals(BranchRefusedException.Reason.BAD_NAME, refusal(() -> store.branches().delete("../manifest")));
        assertEquals(List.of(), bucket.list(BucketLayout.BRANCH_REGISTRY), "nothing was written");
        for (String good : List.of("0", "dev", "feature-1_b", "a" + "b".repeat(62))) {
            store.branches().create(good, 0x200, "s");
        }
        assertEquals(4, store.branches().list().size());
    }

    @Test
    void aMountedBranchIsNotDeletedAndOneWhoseMountEndedIs() throws IOException {
        openFresh();
        store.branches().create("dev", 0x200, "s");
        ClusterLeaseStore lease = ClusterLeaseStore.under(bucket, "branches/dev/", PageStoreTest.CODEC, Clock.systemUTC(),
                Duration.ofMinutes(1));
        long epoch = lease.acquire("host:/mnt/dev").lease().epoch(); // the branch's mount, on its own bucket
        BranchRefusedException mounted = assertThrows(BranchRefusedException.class, () -> store.branches().delete("dev"));
        assertEquals(BranchRefusedException.Reason.NOT_NOW, mounted.reason);
        assertTrue(mounted.getMessage().contains("host:/mnt/dev") && mounted.getMessage().contains("Unmount it first"),
                mounted.getMessage());
        assertEquals(BranchRegistration.State.ACTIVE, store.branches().list().getFirst().getState(), "nothing changed");

        lease.renew(epoch, true); // a clean unmount releases it; the object stays
        assertEquals(2, store.branches().delete("dev"), "its key and its released lease");
        assertEquals(List.of(), bucket.list("branches/"));
    }

    @Test
    void aBranchWhosePageServerRunsIsNotDeleted() throws IOException {
        openFresh();
        store.branches().create("dev", 0x200, "s");
        try (var branchBucket = org.dbfs.bucket.objectstore.ObjectStores.open(tmp.resolve("bucket").resolve("branches")
                .resolve("dev").toString(), null)) {
            PageStore branchServer = PageStore.open(branchBucket, PageStoreTest.CODEC, StoreOptions.defaults(tmp.resolve("b")));
            try {
                BranchRefusedException running = assertThrows(BranchRefusedException.class, () -> store.branches().delete("dev"));
                assertEquals(BranchRefusedException.Reason.NOT_NOW, running.reason);
                assertTrue(running.getMessage().contains("page server is running"), running.getMessage());
            } finally {
                branchServer.drain();
                branchServer.close();
            }
        }
        assertTrue(store.branches().delete("dev") > 2, "its key, released lease, manifest and the rest");
        assertEquals(List.of(), bucket.list("branches/"));
    }

    @Test
    void aRegistrationWhoseKeyCannotBeCopiedIsUndone() throws IOException {
        openFresh();
        bucket.refuseWritesUnder = "branches/dev/";
        assertThrows(RuntimeException.class, () -> store.branches().create("dev", 0x200, "s"));
        assertEquals(List.of(), store.branches().list());
        assertEquals(List.of(), bucket.list(BucketLayout.BRANCH_REGISTRY));
        bucket.refuseWritesUnder = null;
        store.branches().create("dev", 0x200, "s");
        assertEquals(1, store.branches().pins().size());
    }

    @Test
    void aPointBelowTheHorizonOrOnAnEarlierTimelineIsRefused() throws IOException {
        openFresh();
        store.horizon = new Horizon(0x500, 3, "test");
        BeforeHorizonException below = assertThrows(BeforeHorizonException.class,
                () -> store.branches().create("dev", 0x400, "s"));
        assertTrue(below.getMessage().contains("0/500"), "names the horizon: " + below.getMessage());
        store.horizon = Horizon.NONE;

        TimelineBranch.apply(store, org.dbfs.protocol.pageserver.v1.BranchRequest.newBuilder().setTimeline(2)
                .setBranchLsn(0x1000).build());
        PrimaryWal.writeUpTo(store, 2, 0x1100); // the new primary's first WAL
        BranchRefusedException earlier = assertThrows(BranchRefusedException.class,
                () -> store.branches().create("dev", 0x1000, "s"));
        assertEquals(BranchRefusedException.Reason.OUT_OF_RANGE, earlier.reason);
        assertTrue(earlier.getMessage().contains("timeline 1's history"), earlier.getMessage());
        assertEquals(2, store.branches().create("dev", 0x1001, "s").getTimeline());
    }
}
