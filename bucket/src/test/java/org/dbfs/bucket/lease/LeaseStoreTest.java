package org.dbfs.bucket.lease;

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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lease over a real local bucket, on fake time. */
class LeaseStoreTest {
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

    LeaseStore leases() {
        return new LeaseStore(bucket, CODEC, BucketLayout.WRITER_LEASE, clock, TTL);
    }

    @Test
    void takeWritesAGenerationAboveEveryEarlierOneAndAnExpiry() {
        LeaseStore.Held held = leases().take(null, 4, "host-a/1", "journal-a", "/cache/a");
        assertEquals(5, held.generation());
        Lease read = leases().read().orElseThrow().lease();
        assertEquals(held.lease(), read);
        assertTrue(read.liveAt(now.get()));
        assertFalse(read.liveAt(now.get().plus(TTL)), "expired once its time to live has passed without renewal");
        assertEquals("journal-a", read.journal());
    }

    @Test
    void ofTwoContendersForTheSameStateExactlyOneTakesTheLease() {
        leases().take(null, 0, "host-a/1", "journal-a", "/cache/a").release();
        LeaseStore.Current seenByBoth = leases().read().orElseThrow();
        LeaseStore.Held winner = leases().take(seenByBoth, 0, "host-b/2", "journal-b", "/cache/b");
        assertEquals(2, winner.generation());
        assertThrows(LeaseLostException.class, () -> leases().take(seenByBoth, 0, "host-c/3", "journal-c", "/cache/c"));
        assertThrows(LeaseLostException.class, () -> leases().take(null, 0, "host-c/3", "journal-c", "/cache/c"),
                "create-if-absent fails once the lease exists");
        assertEquals("host-b/2", leases().read().orElseThrow().lease().holder());
    }

    @Test
    void renewalMovesTheExpiryAndFailsOnceAnotherProcessTookTheLease() {
        LeaseStore.Held first = leases().take(null, 0, "host-a/1", "journal-a", "/cache/a");
        now.set(now.get().plusSeconds(20));
        first.renew();
        assertEquals(now.get().plus(TTL), leases().read().orElseThrow().lease().expiresAt());

        now.set(now.get().plus(TTL)); // the holder paused past its expiry; another takes over
        LeaseStore.Current expired = leases().read().orElseThrow();
        assertFalse(expired.lease().liveAt(now.get()));
        LeaseStore.Held second = leases().take(expired, 0, "host-b/2", "journal-b", "/cache/b");
        LeaseLostException e = assertThrows(LeaseLostException.class, first::renew);
        assertTrue(e.getMessage().contains("host-b/2"), e.getMessage());
        first.release(); // does nothing: a lost lease is never written over the new holder's
        assertEquals(second.lease(), leases().read().orElseThrow().lease());
    }

    @Test
    void releaseLeavesTheLeaseFreeForAnyoneAtOnce() {
        LeaseStore.Held held = leases().take(null, 0, "host-a/1", "journal-a", "/cache/a");
        held.release();
        Lease released = leases().read().orElseThrow().lease();
        assertTrue(released.released());
        assertFalse(released.liveAt(now.get()));
        assertEquals(2, leases().take(leases().read().orElseThrow(), 0, "host-b/2", "journal-b", "/cache/b").generation());
    }

    @Test
    void aFlippedBitAnywhereInTheWriterLeaseFailsItsReadNamingIt() {
        leases().take(null, 0, "host-a/1", "journal-a", "/cache/a");
        assertEveryFlippedBitFailsNaming(BucketLayout.WRITER_LEASE, () -> leases().read());
    }

    @Test
    void aFlippedBitAnywhereInAReaderLeaseFailsTheLiveListNamingIt() {
        ReaderLeases readers = new ReaderLeases(bucket, CODEC, clock);
        readers.hold("replica-1", 0x1000, "host-r:/mnt/r", TTL);
        assertEveryFlippedBitFailsNaming(BucketLayout.READER_LEASES + "replica-1", readers::live);
    }

    /** Each bit of {@code key} flipped in turn: {@code read} fails with an integrity error naming the object. */
    private void assertEveryFlippedBitFailsNaming(String key, Runnable read) {
        byte[] good = bucket.get(key);
        for (int bit = 0; bit < good.length * 8; bit++) {
            byte[] bad = good.clone();
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            bucket.put(key, bad);
            IntegrityException e = assertThrows(IntegrityException.class, read::run, "bit " + bit);
            assertTrue(e.getMessage().contains(key), "bit " + bit + ": " + e.getMessage());
        }
        bucket.put(key, good);
        read.run();
    }

    @Test
    void aLeaseObjectThatDoesNotOpenOrParseIsAnIntegrityError() {
        bucket.put(BucketLayout.WRITER_LEASE, new byte[] {1, 2, 3});
        assertThrows(IntegrityException.class, () -> leases().read());
        bucket.put(BucketLayout.WRITER_LEASE, CODEC.seal("format=9\n".getBytes(),
                FrameCodec.associatedData(BucketLayout.WRITER_LEASE, 0)));
        LeaseFormatException e = assertThrows(LeaseFormatException.class, () -> leases().read());
        assertTrue(e.getMessage().contains("format=9"), e.getMessage());
    }
}
