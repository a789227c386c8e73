package org.dbfs.fencing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.dbfs.pgformat.wal.Lsn;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cluster lease's transitions over a real local bucket, on fake time. */
class ClusterLeaseStoreTest {
    static final FrameCodec CODEC = FrameCodec.forKey(new byte[32]);
    static final Duration TTL = Duration.ofSeconds(30);

    @TempDir
    Path tmp;
    ObjectStore bucket;
    final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-06T10:00:00Z"));
    final InstantSource clock = () -> now.get();

    @BeforeEach
    void open() {
        bucket = ObjectStores.open(tmp.resolve("bucket").toString(), null);
    }

    @AfterEach
    void close() {
        bucket.close();
    }

    ClusterLeaseStore leases() {
        return new ClusterLeaseStore(bucket, CODEC, clock, TTL);
    }

    @Test
    void theFirstWriterGetsEpochOneOnTimelineOneAndEveryRemountANewEpoch() {
        ClusterLease first = leases().acquire("host-a:/mnt/pg").lease();
        assertEquals(1, first.epoch());
        assertEquals(1, first.timeline());
        assertEquals(ClusterLease.State.PRIMARY, first.state());
        assertTrue(first.liveAt(now.get()));
        assertFalse(first.liveAt(now.get().plus(TTL)));
        assertEquals(2, leases().acquire("host-a:/mnt/pg").lease().epoch(), "a remount fences the mount process before it");
        assertEquals(leases().read().orElseThrow().lease().epoch(), 2);
    }

    @Test
    void aFlippedBitAnywhereInTheClusterLeaseFailsItsReadNamingIt() {
        leases().acquire("host-a:/mnt/pg");
        byte[] good = bucket.get(BucketLayout.CLUSTER_LEASE);
        for (int bit = 0; bit < good.length * 8; bit++) {
            byte[] bad = good.clone();
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            bucket.put(BucketLayout.CLUSTER_LEASE, bad);
            IntegrityException e = assertThrows(IntegrityException.class, () -> leases().read(), "bit " + bit);
            assertTrue(e.getMessage().contains(BucketLayout.CLUSTER_LEASE), "bit " + bit + ": " + e.getMessage());
        }
    }

    @Test
    void aSecondWriterIsRefusedAndChangesNothing() {
        leases().acquire("host-a:/mnt/pg");
        WriterRefusedException e = assertThrows(WriterRefusedException.class, () -> leases().acquire("host-b:/mnt/pg"));
        assertTrue(e.getMessage().contains("host-a:/mnt/pg"), e.getMessage());
        assertEquals("host-a:/mnt/pg", leases().read().orElseThrow().lease().holder());
        assertEquals(1, leases().read().orElseThrow().lease().epoch());
    }

    @Test
    void afterAReleaseAnotherHostMayWrite() {
        ClusterLease a = leases().acquire("host-a:/mnt/pg").lease();
        leases().renew(a.epoch(), true);
        ClusterLease b = leases().acquire("host-b:/mnt/pg").lease();
        assertEquals(2, b.epoch());
        assertEquals("host-a:/mnt/pg", b.previousHolder());
    }

    @Test
    void renewalMovesTheExpiryAndFailsOnceFenced() {
        ClusterLease a = leases().acquire("host-a:/mnt/pg").lease();
        now.set(now.get().plusSeconds(20));
        ClusterLease renewed = leases().renew(a.epoch(), false).lease();
        assertEquals(now.get().plus(TTL), renewed.expiresAt());
        leases().fence();
        WriterRefusedException e = assertThrows(WriterRefusedException.class, () -> leases().renew(a.epoch(), false));
        assertTrue(e.getMessage().contains("fenced"), e.getMessage());
    }

    @Test
    void aFenceMovesTheEpochPastTheWriterAndAFenceLeftUnfinishedIsResumedNotRepeated() {
        leases().acquire("host-a:/mnt/pg");
        ClusterLeaseStore.Current fenced = leases().fence();
        assertEquals(2, fenced.lease().epoch());
        assertEquals(ClusterLease.State.FENCED, fenced.lease().state());
        assertEquals("", fenced.lease().holder());
        assertEquals("host-a:/mnt/pg", fenced.lease().previousHolder());
        assertEquals(2, leases().fence().lease().epoch(), "no F recorded yet: the same fence, finished by the retry");
        leases().recordFenceLsn(leases().read().orElseThrow(), Lsn.parse("0/5A000028"));
        assertEquals(Lsn.parse("0/5A000028"), leases().read().orElseThrow().lease().fenceLsn());
        assertEquals(3, leases().fence().lease().epoch(), "a finished fence is not resumed: fencing again moves on");
        assertEquals(4, leases().acquire("host-b:/mnt/pg").lease().epoch(), "anyone may write after a fence");
    }

    @Test
    void ofTwoFencersFromTheSameStateOneWinsAndTheOtherChangesNothing() {
        leases().acquire("host-a:/mnt/pg");
        ClusterLeaseStore.Current seen = leases().read().orElseThrow();
        leases().write(seen, seen.lease().with(2, ClusterLease.State.FENCED, "", now.get(), now.get()));
        assertThrows(LeaseChangedException.class,
                () -> leases().write(seen, seen.lease().with(2, ClusterLease.State.PROMOTING, "host-c:/mnt/pg", now.get(), now.get())));
        assertEquals(ClusterLease.State.FENCED, leases().read().orElseThrow().lease().state());
    }

    @Test
    void thereIsNothingToFenceBeforeAnyWriter() {
        WriterRefusedException e = assertThrows(WriterRefusedException.class, () -> leases().fence());
        assertTrue(e.getMessage().contains("nothing to fence"), e.getMessage());
    }

    @Test
    void statusNamesEpochStateHolderTimelineAndF() {
        leases().acquire("host-a:/mnt/pg");
        leases().fence();
        leases().recordFenceLsn(leases().read().orElseThrow(), Lsn.parse("0/3000060"));
        String status = leases().read().orElseThrow().lease().describe(now.get());
        assertTrue(status.contains("epoch: 2\n"), status);
        assertTrue(status.contains("state: fenced\n"), status);
        assertTrue(status.contains("timeline: 1\n"), status);
        assertTrue(status.contains("fence LSN (F): 0/3000060\n"), status);
        assertTrue(status.contains("previous holder: host-a:/mnt/pg\n"), status);
    }

    @Test
    void aSecondPromotionRunIsRefusedWhileTheFirstHoldsItsClaimAndResumesOnceItIsGone() {
        leases().acquire("host-a:/mnt/pg");
        Duration claim = Duration.ofSeconds(60);
        ClusterLease first = leases().promote("host-b:/mnt/r", "run-1", claim).lease();
        assertEquals(2, first.epoch());
        assertEquals(ClusterLease.State.PROMOTING, first.state());
        assertEquals("run-1", first.promoter());

        WriterRefusedException e = assertThrows(WriterRefusedException.class, () -> leases().promote("host-b:/mnt/r", "run-2", claim));
        assertTrue(e.getMessage().contains("run-1") && e.getMessage().contains("changed nothing"), e.getMessage());
        assertEquals(first, leases().read().orElseThrow().lease(), "the refused run changed nothing");
        WriterRefusedException other = assertThrows(WriterRefusedException.class, () -> leases().promote("host-c:/mnt/r", "run-3", claim));
        assertTrue(other.getMessage().contains("another promotion, of host-b:/mnt/r"), other.getMessage());

        now.set(now.get().plus(claim).plusSeconds(1)); // run-1 died: its claim ended by itself
        ClusterLease resumed = leases().promote("host-b:/mnt/r", "run-2", claim).lease();
        assertEquals(2, resumed.epoch(), "the same promotion, resumed");
        assertEquals("run-2", resumed.promoter());

        leases().releaseClaim("run-2"); // run-2 failed and said so: a third run need not wait
        assertEquals("", leases().read().orElseThrow().lease().promoter());
        assertEquals(2, leases().promote("host-b:/mnt/r", "run-3", claim).lease().epoch());
    }

    @Test
    void aFinishedPromotionDropsTheClaimSurvivesARenewalAndIsNotPromotedAgain() {
        leases().acquire("host-a:/mnt/pg");
        ClusterLease promoting = leases().promote("host-b:/mnt/r", "run-1", Duration.ofSeconds(60)).lease();
        leases().renew(promoting.epoch(), false); // the promoted mount renews while fencectl finishes
        ClusterLease done = leases().finishPromotion(promoting.epoch(), "host-b:/mnt/r", 2).lease();
        assertEquals(ClusterLease.State.PRIMARY, done.state());
        assertEquals(2, done.timeline());
        assertEquals("", done.promoter());
        assertEquals(done, leases().read().orElseThrow().lease(), "written as returned: " + done);
        WriterRefusedException e = assertThrows(WriterRefusedException.class,
                () -> leases().promote("host-b:/mnt/r", "run-2", Duration.ofSeconds(60)));
        assertTrue(e.getMessage().contains("is the primary already"), e.getMessage());
        assertEquals(2, leases().read().orElseThrow().lease().epoch());

        leases().fence();
        assertThrows(WriterRefusedException.class, () -> leases().finishPromotion(promoting.epoch(), "host-b:/mnt/r", 2),
                "a promotion overtaken by a fence is not finished");
    }
}
