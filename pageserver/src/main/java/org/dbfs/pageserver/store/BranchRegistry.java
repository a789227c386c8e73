package org.dbfs.pageserver.store;

import com.google.protobuf.InvalidProtocolBufferException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.PreconditionFailedException;
import org.dbfs.fencing.ClusterLease;
import org.dbfs.fencing.ClusterLeaseStore;
import org.dbfs.pageserver.format.BranchRegistration;
import org.dbfs.pgformat.wal.Lsn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The branches of this bucket, the parent's side of them: one sealed {@link BranchRegistration}
 * each ({@link BucketLayout#branchRegistration}), listed at start and kept in memory after. An
 * active registration is a {@link BranchPin}, which garbage collection honours. Registrations are
 * written create-if-absent, so a name is taken once, until the branch is deleted.
 *
 * <p>Concurrency: creations and deletions serialize on this object. Readers ({@link #pins},
 * {@link #list}, {@link #pin}) see an immutable map and never wait for them: collection asks for
 * the pins under the horizon lock.
 */
public final class BranchRegistry {
    private static final Logger log = LoggerFactory.getLogger(BranchRegistry.class);

    private final PageStore ps;
    private volatile SortedMap<String, BranchRegistration> known; // replaced whole, under this

    BranchRegistry(PageStore ps) {
        this.ps = ps;
        SortedMap<String, BranchRegistration> loaded = new TreeMap<>();
        for (String object : ps.store.list(BucketLayout.BRANCH_REGISTRY)) {
            String name = object.substring(BucketLayout.BRANCH_REGISTRY.length());
            if (BucketLayout.isBranchName(name)) { // not a temporary file or another tool's object
                loaded.put(name, read(object));
            }
        }
        known = loaded;
    }

    /** Every registration, by name. */
    public List<BranchRegistration> list() {
        return List.copyOf(known.values());
    }

    /** The pins of the active branches. */
    public List<BranchPin> pins() {
        return known.values().stream().filter(r -> r.getState() == BranchRegistration.State.ACTIVE)
                .map(r -> new BranchPin(r.getName(), r.getXEnd(), r.getParentCutSeq(), r.getSnapshot())).toList();
    }

    /**
     * The pin of active branch {@code name}, for its reads.
     *
     * @throws BranchRefusedException NOT_FOUND if there is none
     */
    public BranchPin pin(String name) {
        return pins().stream().filter(p -> p.branch().equals(name)).findFirst().orElseThrow(() -> new BranchRefusedException(
                BranchRefusedException.Reason.NOT_FOUND, "no active branch '" + name + "' in " + ps.store.describe()));
    }

    /**
     * The registration object for a new branch {@code name}, checked before the slower work of
     * creating it.
     *
     * @throws BranchRefusedException BAD_NAME, or EXISTS naming when and where the branch was made
     */
    public String checkNew(String name) {
        String object = objectOf(name);
        BranchRegistration existing = known.get(name);
        if (existing != null) {
            throw exists(existing);
        }
        return object;
    }

    /**
     * Registers branch {@code name} at {@code xEnd} (a record end, as ResolvePoint gives it),
     * whose first mount starts from data-directory snapshot {@code snapshot}, then copies the
     * bucket's key under its prefix, so that one passphrase opens both.
     *
     * @throws BranchRefusedException     see {@link #checkNew}; OUT_OF_RANGE for a point on an
     *                                    earlier timeline; NOT_NOW when no cut can be told for it
     * @throws BeforeHorizonException     if {@code xEnd} is below the retention horizon
     */
    public synchronized BranchRegistration create(String name, long xEnd, String snapshot) {
        String object = checkNew(name);
        Timelines timelines = ps.timelines();
        int timeline = timelines.current().timeline();
        if (timelines.timelineAt(xEnd) != timeline) {
            throw new BranchRefusedException(BranchRefusedException.Reason.OUT_OF_RANGE, "branch " + name + " at "
                    + Lsn.format(xEnd) + ": that is timeline " + timelines.timelineAt(xEnd) + "'s history; a branch starts"
                    + " on the current timeline, " + timelines + ", after its branch LSN");
        }
        BranchRegistration reg;
        // As a reader's claim: a collection lists the pins with the reader leases, so this one is
        // either listed by it or checked against the horizon it published.
        synchronized (ps.readers.horizonLock) {
            Horizon h = ps.horizon;
            if (Long.compareUnsigned(xEnd, h.lsn()) < 0) {
                throw new BeforeHorizonException("branch " + name + " at " + Lsn.format(xEnd) + " is below the retention"
                        + " horizon " + h + ": the page versions it would read may be collected. Branch at a later point");
            }
            long cut = BranchCut.at(ps, xEnd);
            if (cut == 0) {
                throw new BranchRefusedException(BranchRefusedException.Reason.NOT_NOW, "branch " + name + " at "
                        + Lsn.format(xEnd) + ": this page server cannot tell which page versions were written before the"
                        + " WAL passed it (no pack since records a WAL end at or below it); branch at a later point, or"
                        + " after the next pack");
            }
            reg = BranchRegistration.newBuilder().setName(name).setXEnd(xEnd).setTimeline(timeline).setParentCutSeq(cut)
                    .setCreatedAtMs(ps.clock.millis()).setSnapshot(snapshot).setState(BranchRegistration.State.ACTIVE)
                    .setPrefix(BucketLayout.branchPrefix(name)).build();
            try {
                ps.store.putIfAbsent(object, seal(object, reg));
            } catch (PreconditionFailedException e) {
                throw exists(read(object));
            }
            remember(reg);
        }
        try {
            ps.store.put(reg.getPrefix() + BucketLayout.KEY, ps.store.get(BucketLayout.KEY));
        } catch (RuntimeException e) {
            ps.store.delete(object); // a branch without its key could never be opened: undo
            forget(name);
            throw e;
        }
        log.info("branch {} created at {} (timeline {}, parent versions before journal seq {}, snapshot {})", name,
                Lsn.format(xEnd), timeline, reg.getParentCutSeq(), snapshot);
        return reg;
    }

    /**
     * Deletes branch {@code name}: marks it DELETING (its pin goes at once), deletes every object
     * under its prefix, then the registration. A delete that stopped half-way is finished by the next.
     *
     * @return how many objects under the prefix were deleted
     * @throws BranchRefusedException NOT_FOUND, BAD_NAME; NOT_NOW while the branch is mounted (its own
     *                                cluster lease is live)
     */
    public synchronized int delete(String name) {
        String object = objectOf(name);
        BranchRegistration reg = known.get(name);
        if (reg == null) {
            throw new BranchRefusedException(BranchRefusedException.Reason.NOT_FOUND, "no branch '" + name + "' in "
                    + ps.store.describe());
        }
        String prefix = BucketLayout.branchPrefix(name); // never the stored one: it decides what is deleted
        refuseIfMounted(name, prefix);
        if (reg.getState() != BranchRegistration.State.DELETING) {
            reg = reg.toBuilder().setState(BranchRegistration.State.DELETING).build();
            ps.store.put(object, seal(object, reg));
            remember(reg);
        }
        int deleted = 0;
        for (String key : ps.store.list(prefix)) {
            ps.store.delete(key);
            deleted++;
        }
        ps.store.delete(object);
        forget(name);
        log.info("branch {} deleted: {} objects under {}; the next collection may drop what its pin kept", name, deleted, prefix);
        return deleted;
    }

    /** How much branch {@code name}'s own bucket holds: one stat per object under its prefix. */
    public Usage usage(String name) {
        int objects = 0;
        long bytes = 0;
        for (String key : ps.store.list(BucketLayout.branchPrefix(name))) {
            objects++;
            bytes += ps.store.stat(key).map(ObjectStore.ObjectInfo::size).orElse(0L);
        }
        return new Usage(objects, bytes);
    }

    public record Usage(int objects, long bytes) {}

    private void refuseIfMounted(String name, String prefix) {
        // Read only: the TTL is for taking and renewing the lease, which this never does.
        ClusterLeaseStore lease = ClusterLeaseStore.under(ps.store, prefix, ps.codec, ps.clock, Duration.ZERO);
        ClusterLease held = lease.read().map(ClusterLeaseStore.Current::lease).orElse(null);
        if (held != null && held.liveAt(ps.clock.instant())) {
            throw new BranchRefusedException(BranchRefusedException.Reason.NOT_NOW, "branch " + name + " is mounted: "
                    + held.summary() + " holds its cluster lease " + lease.where() + ". Unmount it first");
        }
        // Its page server, even with nothing mounted, would go on writing into what is being deleted.
        var server = org.dbfs.bucket.lease.LeaseStore.under(ps.store, prefix, ps.codec, BucketLayout.WRITER_LEASE, ps.clock)
                .read().map(org.dbfs.bucket.lease.LeaseStore.Current::lease).orElse(null);
        if (server != null && server.liveAt(ps.clock.instant())) {
            throw new BranchRefusedException(BranchRefusedException.Reason.NOT_NOW, "branch " + name + "'s page server is"
                    + " running (" + server.describe() + "). Stop it first (scripts/branch stop " + name + ")");
        }
    }

    /** @throws BranchRefusedException BAD_NAME naming the rule */
    private static String objectOf(String name) {
        try {
            return BucketLayout.branchRegistration(name);
        } catch (IllegalArgumentException e) {
            throw new BranchRefusedException(BranchRefusedException.Reason.BAD_NAME, e.getMessage());
        }
    }

    private BranchRefusedException exists(BranchRegistration r) {
        return new BranchRefusedException(BranchRefusedException.Reason.EXISTS, "branch " + r.getName() + " exists (created "
                + Instant.ofEpochMilli(r.getCreatedAtMs()) + ", at LSN " + Lsn.format(r.getXEnd())
                + (r.getState() == BranchRegistration.State.DELETING ? "; being deleted, which DeleteBranch finishes" : "")
                + ")");
    }

    private void remember(BranchRegistration reg) {
        SortedMap<String, BranchRegistration> next = new TreeMap<>(known);
        next.put(reg.getName(), reg);
        known = next;
    }

    private void forget(String name) {
        SortedMap<String, BranchRegistration> next = new TreeMap<>(known);
        next.remove(name);
        known = next;
    }

    private byte[] seal(String object, BranchRegistration reg) {
        return ps.codec.seal(reg.toByteArray(), FrameCodec.associatedData(object, 0));
    }

    /** @throws IntegrityException naming the object if it fails authentication or does not parse */
    private BranchRegistration read(String object) {
        String what = "branch registration " + object + " in " + ps.store.describe();
        byte[] plain = ps.codec.open(ps.store.get(object), FrameCodec.associatedData(object, 0), what);
        try {
            return BranchRegistration.parseFrom(plain);
        } catch (InvalidProtocolBufferException e) {
            throw new IntegrityException(what + " is corrupt: it authenticates but does not parse", e);
        }
    }
}
