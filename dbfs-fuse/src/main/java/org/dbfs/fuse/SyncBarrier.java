package org.dbfs.fuse;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * fsync for the whole mount: makes every write this mount had acknowledged durable, or says it
 * could not (honest fsync, ARCHITECTURE.md invariant 2). The page server's Sync is a barrier for
 * all earlier writes, so per-file fsync and directory fsync both come here.
 */
final class SyncBarrier {

    private static final Logger log = LoggerFactory.getLogger(SyncBarrier.class);

    private final PageServerClient client;

    SyncBarrier(PageServerClient client) {
        this.client = client;
    }

    /** @return 0 once everything acknowledged before the call is durable, else -EIO */
    int sync() {
        DurabilityTracker durability = client.durability();
        DurabilityTracker.Pending pending = durability.pending();
        if (pending.lost()) {
            log.error("fsync fails: page server {} restarted while acknowledged writes were not yet durable; they may be lost",
                    client.target());
            durability.lossReported(pending);
            return -LinuxErrno.EIO;
        }
        if (pending.nothingToSync()) {
            return 0;
        }
        try {
            client.sync(pending.incarnation());
            durability.synced(pending);
            return 0;
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.FAILED_PRECONDITION) {
                log.error("fsync fails: page server {} no longer has incarnation {}; unsynced writes may be lost: {}",
                        client.target(), pending.incarnation(), e.getStatus());
                durability.lossReported(pending);
            } else {
                log.error("fsync fails: Sync on page server {} failed: {}", client.target(), e.getStatus());
            }
            return -LinuxErrno.EIO;
        }
    }

    /**
     * After a durable write acknowledged by {@code incarnation}: everything acknowledged before
     * {@code before} was taken is durable too, unless it was acknowledged by an earlier run of the
     * page server. @return 0 or -EIO
     */
    int coveredByDurableWrite(DurabilityTracker.Pending before, long incarnation) {
        DurabilityTracker durability = client.durability();
        if (before.lost() || (before.incarnation() != 0 && before.incarnation() != incarnation)) {
            log.error("fsync fails: page server {} restarted while acknowledged writes were not yet durable; they may be lost",
                    client.target());
            durability.lossReported(before);
            return -LinuxErrno.EIO;
        }
        durability.synced(before);
        return 0;
    }
}
