package org.dbfs.bucket.lease;

import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.objectstore.ObjectNotFoundException;
import org.dbfs.bucket.objectstore.ObjectStore;

/**
 * The readers' claims on history ({@link ReaderLease}), one sealed object each under
 * {@value BucketLayout#READER_LEASES}. Each reader writes only its own object, so plain writes
 * suffice; the writer's garbage collection only reads them.
 */
public final class ReaderLeases {
    private final ObjectStore store;
    private final FrameCodec codec;
    private final InstantSource clock;

    public ReaderLeases(ObjectStore store, FrameCodec codec, InstantSource clock) {
        this.store = store;
        this.codec = codec;
        this.clock = clock;
    }

    /** Registers or renews reader {@code id}'s claim on {@code lsn} for {@code ttl}. */
    public ReaderLease hold(String id, long lsn, String holder, Duration ttl) {
        ReaderLease lease = new ReaderLease(id, lsn, holder, clock.instant().plus(ttl));
        String name = BucketLayout.readerLease(id);
        store.put(name, codec.seal(lease.encode(), FrameCodec.associatedData(name, 0)));
        return lease;
    }

    /** Gives the claim up (a reader that stops cleanly). */
    public void release(String id) {
        store.delete(BucketLayout.readerLease(id));
    }

    /** Every claim not yet expired. */
    public List<ReaderLease> live() {
        List<ReaderLease> out = new ArrayList<>();
        for (String name : store.list(BucketLayout.READER_LEASES)) {
            byte[] sealed;
            try {
                sealed = store.get(name);
            } catch (ObjectNotFoundException gone) {
                continue; // released while listing
            }
            ReaderLease lease = ReaderLease.decode(name.substring(BucketLayout.READER_LEASES.length()),
                    codec.open(sealed, FrameCodec.associatedData(name, 0), name + " in " + store.describe()),
                    name + " in " + store.describe());
            if (lease.liveAt(clock.instant())) {
                out.add(lease);
            }
        }
        return out;
    }
}
