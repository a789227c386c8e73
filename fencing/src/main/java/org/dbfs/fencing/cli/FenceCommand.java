package org.dbfs.fencing.cli;

import io.grpc.StatusRuntimeException;
import java.util.concurrent.Callable;
import org.dbfs.bucket.cli.BucketOptions;
import org.dbfs.fencing.ClusterLease;
import org.dbfs.fencing.ClusterLeaseStore;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.FenceRequest;
import org.dbfs.protocol.pageserver.v1.WriterLeaseReply;
import org.dbfs.protocol.walservice.v1.WalFenceReply;
import org.dbfs.protocol.walservice.v1.WalFenceRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code fencectl fence}: takes the cluster's writes away from the current primary, whether it is
 * dead, paused or running. In order: move the epoch in the bucket (the decision; of two fencers
 * one wins, the other changes nothing), stop the WAL service acknowledging (so no COMMIT on the
 * old primary can return from then on) and take F where its durable WAL ends, make the page server
 * refuse the old epoch (every write and fsync of the old mount fails), record F in the lease.
 * A run that fails after the first step leaves the lease fenced; running it again finishes it.
 */
@Command(name = "fence", mixinStandardHelpOptions = true,
        description = "Fences the current primary: no write, fsync or commit of its epoch succeeds afterwards.")
final class FenceCommand implements Callable<Integer> {
    @Mixin
    BucketOptions bucket;

    @Mixin
    ServiceOptions services;

    @Override
    public Integer call() {
        StepClock clock = new StepClock(System.out);
        try (LeaseAccess access = new LeaseAccess(bucket); ServiceChannels channels = services.open()) {
            Fenced f = fence(access.leases, channels, clock);
            System.out.print(f.lease().lease().describe(access.leases.now()));
            return 0;
        }
    }

    /** The lease after a complete fence, with F recorded. */
    record Fenced(ClusterLeaseStore.Current lease, long fenceLsn) {}

    /** The fence, shared with promote. */
    static Fenced fence(ClusterLeaseStore leases, ServiceChannels services, StepClock clock) {
        ClusterLease before = leases.read().map(ClusterLeaseStore.Current::lease).orElse(null);
        ClusterLeaseStore.Current fenced = leases.fence();
        ClusterLease l = fenced.lease();
        if (before != null && before.epoch() == l.epoch()) {
            clock.step("the lease was already moved to epoch " + l.epoch() + " by an unfinished fence; finishing it");
        } else {
            clock.step("lease moved to epoch " + l.epoch() + " (was " + (before == null ? "absent" : before.summary()) + ")");
        }
        long fenceLsn;
        try {
            WalFenceReply w = services.walService().fence(WalFenceRequest.newBuilder().setEpoch(l.epoch()).build());
            fenceLsn = w.getFenceLsn();
            clock.step("WAL service " + services.walServiceAddress() + " fenced: acknowledges nothing more; durable WAL ends at F = "
                    + Lsn.format(fenceLsn) + " (timeline " + w.getTimeline() + ")");
        } catch (StatusRuntimeException | IllegalArgumentException e) {
            throw incomplete(l, "the WAL service could not be fenced, so the old primary may still commit", e);
        }
        try {
            WriterLeaseReply p = services.pageServer().fence(FenceRequest.getDefaultInstance());
            clock.step("page server " + services.pageServerAddress() + " fenced: refuses every write and fsync of epochs below "
                    + p.getEpoch());
        } catch (StatusRuntimeException e) {
            throw incomplete(l, "the page server could not be fenced, so the old primary's mount may still write", e);
        }
        ClusterLeaseStore.Current done = leases.recordFenceLsn(fenced, fenceLsn);
        clock.step("F = " + Lsn.format(fenceLsn) + " recorded in the lease");
        return new Fenced(done, fenceLsn);
    }

    private static IncompleteException incomplete(ClusterLease l, String what, RuntimeException e) {
        String why = e instanceof StatusRuntimeException s ? s.getStatus().getCode() + " " + s.getStatus().getDescription()
                : e.getMessage();
        return new IncompleteException("the lease is at epoch " + l.epoch() + " (fenced) but " + what + ": " + why
                + ". Run the same fencectl command again once it is reachable; it finishes the fence", e);
    }
}
